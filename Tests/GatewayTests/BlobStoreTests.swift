import Foundation
import Primitives
import TestSupport
import Testing

@testable import Gateway

#if canImport(Glibc)
import Glibc
#endif

/// The blob files without a daemon: whole or absent, and a full disk told apart.
@Suite struct BlobStoreTests {
    @Test func anUploadBecomesItsHashOrNothing() throws {
        let store = BlobStore(directory: TestEnvironment.makeDirectory("blob-store") + "/blobs")
        try store.prepare()
        // A temporary file left by a crash is removed at start.
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: store.directory + "/tmp/left-over"))
        try store.prepare()
        #expect(try FileManager.default.contentsOfDirectory(atPath: store.directory + "/tmp").isEmpty)

        let bytes = SecureRandom.bytes(count: 70_000)
        let upload = try store.begin()
        try upload.write(Array(bytes[..<1000]))
        try upload.write(Array(bytes[1000...]))
        let id = try upload.finish()
        #expect(id == HashFunction.sha256.hash(bytes))
        #expect(Array(try Data(contentsOf: URL(fileURLWithPath: store.path(of: id)))) == bytes)
        #expect(store.path(of: id).hasSuffix("/\(Hex.encode(id).prefix(2))/\(Hex.encode(id))"))
        let (fd, size) = try #require(store.open(id))
        #expect(size == 70_000 && BlobStore.read(fd, offset: 69_990, count: 100) == Array(bytes.suffix(10)))
        close(fd)

        // An upload dropped halfway leaves nothing.
        let dropped = try store.begin()
        try dropped.write(SecureRandom.bytes(count: 5000))
        dropped.abort()
        #expect(try FileManager.default.contentsOfDirectory(atPath: store.directory + "/tmp").isEmpty)
        store.remove(id)
        #expect(store.open(id) == nil)
    }

    @Test func aFullDiskIsToldApartAndTheUploadDropped() throws {
        // /dev/full answers every write with ENOSPC, as a full disk does.
        let store = BlobStore(directory: TestEnvironment.makeDirectory("blob-full") + "/blobs")
        try store.prepare()
        let temporary = store.directory + "/tmp/full"
        let fd = open("/dev/full", O_WRONLY | O_CLOEXEC)
        #expect(fd >= 0)
        let upload = BlobStore.Upload(store: store, fd: fd, temporary: temporary)
        do {
            try upload.write(SecureRandom.bytes(count: 4096))
            Issue.record("a write to a full disk succeeded")
        } catch {
            #expect(error.diskFull)
            #expect(error.message == "the server's disk is full: the upload was dropped")
            let refusal = BlobService.refusal(error)
            #expect(refusal.status == 507 && refusal.code == "disk_full")
        }
        upload.abort()
    }
}
