import Testing
@testable import LogCache

@Suite("SHA-256 against the NIST test vectors")
struct SHA256Tests {
    @Test("The FIPS 180 example messages, the million a's and the empty message", arguments: [
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
        ("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
         "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"),
    ])
    func nistVectors(message: String, digest: String) {
        #expect(SHA256.hex(SHA256.hash(message.utf8)) == digest)
    }

    @Test("One million repetitions of \"a\", fed in uneven pieces")
    func millionA() {
        var h = SHA256()
        var fed = 0
        var piece = 1
        while fed < 1_000_000 {
            let n = min(piece, 1_000_000 - fed)
            h.update([UInt8](repeating: UInt8(ascii: "a"), count: n))
            fed += n
            piece = piece * 3 % 1009 + 1
        }
        #expect(SHA256.hex(h.finalize()) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    /// Digests from an independent implementation of messages whose lengths sit on either side
    /// of the padding boundaries (55/56 bytes leave room for the length or not; 64 is a block).
    @Test("Lengths around the padding boundaries", arguments: [
        (55, "e7313d333c272e639f790978283f9eb392e843d0f29b7016828bb1daa4aac70b"),
        (56, "4324d65f3c103567f5589c710bc08f8523f929a9272e3af36fc968e52abc6c27"),
        (57, "35df609437dcfea3279283ab79fd554e2bf78f8f7ae2de532d8ee300b09e8f73"),
        (63, "81c80242132f230c3bd41b3e63bbcff16107339549214a99614ff26664625055"),
        (64, "39e3d7b6b5d075d37d053ad89b24b41bef4f3c29760c84447cab3f3be1882241"),
        (65, "aacca6ff74fdbb296d165a45cecfa04e5127bc008770fbbdd48006f2d2fae95e"),
        (119, "9ce7368e4daf32341631b492e80359dc9f594b48453cd0dd5bf0b19279cc177e"),
        (120, "7836b787757e95e58b3ca5aec90b1b004e8deba1e50e9675af9cabf1a13a04b5"),
        (128, "d2742f1f4ac6bb7ca2b239ee18402ba8b3f9f8e652d2a72973c2b9ba11c08cf6"),
    ])
    func paddingBoundaries(length: Int, digest: String) {
        let message = (0..<length).map { UInt8(($0 * 7 + 3) % 256) }
        #expect(SHA256.hex(SHA256.hash(message)) == digest)
        // The same message in two pieces split at every point gives the same digest.
        for split in stride(from: 0, through: length, by: 7) {
            var h = SHA256()
            h.update(message[..<split])
            h.update(message[split...])
            #expect(SHA256.hex(h.finalize()) == digest, "split at \(split)")
        }
    }

    @Test("finalize leaves the hash usable: a digest of a prefix, then of the whole message")
    func finalizeIsNotDestructive() {
        var h = SHA256()
        h.update("ab".utf8)
        #expect(SHA256.hex(h.finalize()) == SHA256.hex(SHA256.hash("ab".utf8)))
        h.update("c".utf8)
        #expect(SHA256.hex(h.finalize()) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }
}
