import Testing
@testable import cachectl

@Suite struct ByteSizeParsingTests {
    @Test func unitsAndNumbers() throws {
        #expect(try ByteSize.parse("4096") == 4096)
        #expect(try ByteSize.parse("512B") == 512)
        #expect(try ByteSize.parse("64KiB") == 65_536)
        #expect(try ByteSize.parse("128MiB") == 134_217_728)
        #expect(try ByteSize.parse("2GiB") == 2_147_483_648)
        #expect(try ByteSize.parse("1TiB") == 1 << 40)
        #expect(try ByteSize.parse("10KB") == 10_000)
        #expect(try ByteSize.parse("3MB") == 3_000_000)
        #expect(try ByteSize.parse("1GB") == 1_000_000_000)
        #expect(try ByteSize.parse("1.5GiB") == 1_610_612_736)
        #expect(try ByteSize.parse("128 mib") == 134_217_728)
        #expect(try ByteSize.parse(" 1kb ") == 1000)
    }

    @Test func rejectsWhatIsNotASize() {
        for bad in ["", "MiB", "12Q", "-5MiB", "0", "0KiB", "1.5B", "1.2.3MB", "12 MiBs", "99999999999TiB", "0x10"] {
            #expect(throws: ByteSize.ParseError.self, "\(bad)") { try ByteSize.parse(bad) }
        }
        #expect { try ByteSize.parse("12Q") } throws: { ($0 as? ByteSize.ParseError)?.description.contains("12Q") == true }
    }

    @Test func listsAndCounts() throws {
        #expect(try ByteSize.parseList("128MiB,256MiB,1GB") == [134_217_728, 268_435_456, 1_000_000_000])
        #expect(try ByteSize.parseList("1000,10_000", counts: true) == [1000, 10_000])
        #expect(throws: ByteSize.ParseError.self) { try ByteSize.parseList("128MiB,,256MiB") }
        #expect(throws: ByteSize.ParseError.self) { try ByteSize.parseList("1KiB", counts: true) }
        #expect(throws: ByteSize.ParseError.self) { try ByteSize.parseCount("0") }
    }

    @Test func formatsInTheLargestExactBinaryUnit() {
        #expect(ByteSize.format(134_217_728) == "128MiB")
        #expect(ByteSize.format(1 << 30) == "1GiB")
        #expect(ByteSize.format(1536) == "1536B")
        #expect(ByteSize.format(3 << 10) == "3KiB")
    }
}
