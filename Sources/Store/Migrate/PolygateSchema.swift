/// The migrations of polygate's own database, embedded from `Sources/Store/Migrations/` at
/// build time. Add a migration by adding the file *and* a line here; a test checks that the two
/// lists agree.
public enum PolygateSchema {
    /// Every migration, in order.
    public static let migrations: [Migration] = {
        let files: [(String, [UInt8])] = [
            ("0001_audit_ledger.sql", PackageResources._001_audit_ledger_sql),
            ("0002_social.sql", PackageResources._002_social_sql),
            ("0003_delivery.sql", PackageResources._003_delivery_sql),
            ("0004_gateway_sessions.sql", PackageResources._004_gateway_sessions_sql),
            ("0005_presence.sql", PackageResources._005_presence_sql),
            ("0006_welcome_member_devices.sql", PackageResources._006_welcome_member_devices_sql),
            ("0007_blocks_welcomes_contacts.sql", PackageResources._007_blocks_welcomes_contacts_sql),
            ("0008_membership_caps.sql", PackageResources._008_membership_caps_sql),
            ("0009_append_notify_after_commit.sql", PackageResources._009_append_notify_after_commit_sql),
        ]
        return files.map { file in
            do {
                return try Migration(fileName: file.0, contents: file.1)
            } catch {
                preconditionFailure("embedded migration \(file.0) is misnamed: \(error)")
            }
        }
    }()

    /// The migrator for polygate's schema.
    public static var migrator: Migrator {
        // Bundled migrations are checked by tests, so a failure here is a build defect.
        do {
            return try Migrator(migrations: Self.migrations)
        } catch {
            preconditionFailure("bundled migrations are inconsistent: \(error)")
        }
    }
}
