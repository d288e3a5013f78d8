/// The migrations and stored functions of polygate's own database, embedded from
/// `Sources/Store/Migrations/` and `Sources/Store/Functions/` at build time. Add a file *and* a
/// line here; a test checks that the lists agree with the directories.
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
            ("0010_group_commit.sql", PackageResources._010_group_commit_sql),
            ("0011_device_last_seen.sql", PackageResources._011_device_last_seen_sql),
            ("0012_pairings.sql", PackageResources._012_pairings_sql),
            ("0013_blobs.sql", PackageResources._013_blobs_sql),
        ]
        return files.map { file in embedded(file, Migration.init(fileName:contents:)) }
    }()

    /// Every stored function file, re-applied when changed after the migrations (ADR 0019).
    public static let functions: [SchemaFunction] = {
        let files: [(String, [UInt8])] = [
            ("gw_append.sql", PackageResources.gw_append_sql),
            ("gw_contact.sql", PackageResources.gw_contact_sql),
            ("gw_page.sql", PackageResources.gw_page_sql),
        ]
        return files.map { file in embedded(file, SchemaFunction.init(fileName:contents:)) }
    }()

    /// An embedded file read as `T`; bundled files are checked by tests, so a failure here is a
    /// build defect.
    private static func embedded<T>(_ file: (String, [UInt8]), _ read: (String, [UInt8]) throws(PostgresError) -> T) -> T {
        do {
            return try read(file.0, file.1)
        } catch {
            preconditionFailure("embedded file \(file.0) is misnamed: \(error)")
        }
    }

    /// The migrator for polygate's schema.
    public static var migrator: Migrator {
        // Bundled migrations are checked by tests, so a failure here is a build defect.
        do {
            return try Migrator(migrations: Self.migrations, functions: Self.functions)
        } catch {
            preconditionFailure("bundled migrations are inconsistent: \(error)")
        }
    }
}
