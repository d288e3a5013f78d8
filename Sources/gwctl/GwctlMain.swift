import AdminConsole

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

#if canImport(Glibc)
import Glibc
#endif

/// gwctl(8): the admin console of polygated. Everything is in AdminConsole.
@main
struct GwctlMain {
    static func main() {
        exit(Gwctl.main(Array(CommandLine.arguments.dropFirst()), environment: ProcessInfo.processInfo.environment))
    }
}
