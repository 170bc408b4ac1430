import CLogCacheSupport

/// Refusing network file systems, whose locks and shared mappings do not behave as on a
/// local disk.
///
/// The store relies on three things a local file system gives: `flock` excluding other
/// processes on other machines too, a shared memory map of the `SHARED` file seen by every
/// process, and an append visible to every reader once `pwrite` returns. NFS, SMB/CIFS and
/// most FUSE or cluster file systems break one or more of these (NFS emulates `flock` with
/// byte-range locks, caches attributes and pages per client, and does not share mappings
/// between machines), which would let two writers interleave records or readers miss
/// writes. One machine on such a mount can be safe, which is why the check can be waived.
enum FileSystemCheck {
    /// `statfs` magic numbers of file systems known to be networked or to share poorly.
    static let networked: [Int64: String] = [
        0x6969: "nfs", 0x517B: "smb", 0xFF53_4D42: "cifs", 0xFE53_4D42: "smb2", 0x0102_1997: "9p",
        0x00C3_6400: "ceph", 0x6573_5546: "fuse", 0x0BD0_0BD0: "lustre", 0x4750_4653: "gpfs",
        0x0BEE_FEED: "afs", 0x5346_414F: "afs", 0x7461_636F: "ocfs2", 0x0116_1970: "gfs2",
    ]

    /// The name of the networked file system with `statfs` type `type`, or nil for a local one.
    static func networkName(ofType type: Int64) -> String? {
        networked[type & 0xFFFF_FFFF]
    }

    /// Throws when `path` is on a networked file system.
    static func requireLocal(_ path: String) throws(CacheError) {
        let type = logcache_file_system_type(path)
        if let name = networkName(ofType: type) {
            throw .networkFileSystem(path: path, fileSystem: name)
        }
    }
}
