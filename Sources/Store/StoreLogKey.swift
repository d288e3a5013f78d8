/// Metadata keys the store logs with (dotted names, STYLE.md §11).
enum StoreLogKey {
    static let connectionID = "db.connection.id"
    static let error = "db.error"
    static let migrationVersion = "db.migration.version"
    static let migrationName = "db.migration.name"
    static let functionFile = "db.function.file"
    static let channel = "db.listen.channel"
}
