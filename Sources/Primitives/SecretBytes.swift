import CSodium

/// Secret bytes — private keys, epoch secrets — kept in memory that is zeroised when the last
/// copy goes away, compared in constant time, and never shown by `description`.
///
/// Values passed in and taken out as `[UInt8]` are ordinary arrays: the zeroisation covers the
/// long-lived copy held here, not transient copies made while computing.
package struct SecretBytes: Sendable {
    /// `@unchecked Sendable`: the buffer is immutable after `init`.
    private final class Storage: @unchecked Sendable {
        let pointer: UnsafeMutableRawBufferPointer

        init(count: Int) {
            self.pointer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(count, 1), alignment: 16)
            self.count = count
        }

        let count: Int

        deinit {
            sodium_memzero(self.pointer.baseAddress, self.pointer.count)
            self.pointer.deallocate()
        }
    }

    private let storage: Storage

    /// Copies `bytes`.
    package init(_ bytes: some Collection<UInt8>) {
        self.storage = Storage(count: bytes.count)
        _ = UnsafeMutableRawBufferPointer(rebasing: self.storage.pointer[0..<bytes.count]).initializeMemory(
            as: UInt8.self,
            from: bytes
        )
    }

    /// `count` random bytes from the system's CSPRNG.
    package static func random(count: Int) -> SecretBytes {
        var bytes = SecureRandom.bytes(count: count)
        defer { sodium_memzero(&bytes, bytes.count) }
        return SecretBytes(bytes)
    }

    /// `count` zero bytes.
    package static func zeros(count: Int) -> SecretBytes {
        SecretBytes([UInt8](repeating: 0, count: count))
    }

    package var count: Int { self.storage.count }

    /// Calls `body` with the bytes; do not let the pointer escape.
    package func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(rebasing: self.storage.pointer[0..<self.storage.count]))
    }

    /// A copy as an ordinary array (for APIs that take bytes; it is not zeroised).
    package var bytes: [UInt8] {
        self.withUnsafeBytes { Array($0) }
    }
}

// MARK: - Equatable (constant time)

extension SecretBytes: Equatable {
    package static func == (lhs: SecretBytes, rhs: SecretBytes) -> Bool {
        lhs.withUnsafeBytes { a in rhs.withUnsafeBytes { b in ConstantTime.equal(a, b) } }
    }
}

// MARK: - CustomStringConvertible

extension SecretBytes: CustomStringConvertible, CustomDebugStringConvertible {
    package var description: String { "SecretBytes(\(self.count) bytes)" }
    package var debugDescription: String { self.description }
}
