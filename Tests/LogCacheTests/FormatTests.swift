import Testing
@testable import LogCache
