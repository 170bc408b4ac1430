#if canImport(Glibc)
import Glibc
#endif

/// How many processors the machine has online: the number of threads worth using for work
/// that splits (a batch's records compressed side by side, zstd's workers for one large
/// value). Read once, by whichever piece asks first.
enum Processors {
    static let online = max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN)))
}
