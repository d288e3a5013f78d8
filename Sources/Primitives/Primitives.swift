import CSodium
import Synchronization

/// Library set-up shared by every primitive.
enum Primitives {
    private static let initialized = Atomic<Bool>(false)

    /// Initialises libsodium once (idempotent and thread-safe on libsodium's side too).
    static func initialize() {
        if Self.initialized.load(ordering: .acquiring) { return }
        guard sodium_init() >= 0 else { fatalError("libsodium failed to initialise") }
        Self.initialized.store(true, ordering: .releasing)
    }
}
