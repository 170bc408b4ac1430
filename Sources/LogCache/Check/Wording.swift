/// "1 record", "3 records": reports are read by people, and "1 records" reads as a bug.
func counted(_ n: Int, _ singular: String, _ pluralForm: String? = nil) -> String {
    "\(n) " + (n == 1 ? singular : pluralForm ?? singular + "s")
}
