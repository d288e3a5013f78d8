/// The complete result of one statement: its columns, its rows and the server's command tag.
///
/// Rows are copied out of libpq into one contiguous buffer when the result arrives, so a result
/// is an ordinary value that can cross tasks.
public struct PostgresQueryResult: Sendable {
    /// The result columns, in order (empty for commands that return no rows).
    public let columns: [PostgresColumn]
    /// The command tag, e.g. `SELECT 3`, `INSERT 0 1`, `BEGIN`.
    public let commandTag: String
    /// Rows affected by INSERT/UPDATE/DELETE/SELECT/MOVE/FETCH/COPY, when the tag reports it.
    public let affectedRows: Int?

    let storage: [UInt8]
    /// Two entries per cell (offset, length); length -1 is NULL.
    let cells: [Int32]

    /// Number of rows.
    public var count: Int { self.columns.isEmpty ? 0 : self.cells.count / (2 * self.columns.count) }

    public init(columns: [PostgresColumn], commandTag: String, affectedRows: Int?, storage: [UInt8], cells: [Int32]) {
        precondition(
            columns.isEmpty ? cells.isEmpty : cells.count % (2 * columns.count) == 0,
            "cells do not match the column count"
        )
        self.columns = columns
        self.commandTag = commandTag
        self.affectedRows = affectedRows
        self.storage = storage
        self.cells = cells
    }

    /// Builds a result from rows of optional byte strings (`nil` is NULL).
    public init(columns: [PostgresColumn], rows: [[[UInt8]?]], commandTag: String) {
        var storage: [UInt8] = []
        var cells: [Int32] = []
        for row in rows {
            precondition(row.count == columns.count, "row width differs from the column count")
            for cell in row {
                cells.append(Int32(storage.count))
                if let cell {
                    cells.append(Int32(cell.count))
                    storage.append(contentsOf: cell)
                } else {
                    cells.append(-1)
                }
            }
        }
        self.init(columns: columns, commandTag: commandTag, affectedRows: rows.count, storage: storage, cells: cells)
    }

    /// The index of the column named `name`, if any.
    public func columnIndex(named name: String) -> Int? {
        self.columns.firstIndex { $0.name == name }
    }
}

// MARK: - RandomAccessCollection

extension PostgresQueryResult: RandomAccessCollection {
    public var startIndex: Int { 0 }
    public var endIndex: Int { self.count }
    public subscript(position: Int) -> PostgresRow {
        precondition(position >= 0 && position < self.count, "row index out of range")
        return PostgresRow(result: self, index: position)
    }
}

/// A result column.
public struct PostgresColumn: Sendable, Hashable {
    public var name: String
    public var dataType: PostgresDataType
    public var format: PostgresFormat

    public init(name: String, dataType: PostgresDataType, format: PostgresFormat) {
        self.name = name
        self.dataType = dataType
        self.format = format
    }
}

/// One row of a ``PostgresQueryResult``.
public struct PostgresRow: Sendable {
    let result: PostgresQueryResult
    let index: Int

    /// The cell in column `column`.
    public subscript(column: Int) -> PostgresCell {
        precondition(column >= 0 && column < self.result.columns.count, "column index out of range")
        let base = 2 * (self.index * self.result.columns.count + column)
        let offset = Int(self.result.cells[base])
        let length = Int(self.result.cells[base + 1])
        let bytes: ArraySlice<UInt8>? = length < 0 ? nil : self.result.storage[offset..<(offset + length)]
        return PostgresCell(column: self.result.columns[column], bytes: bytes)
    }

    /// The cell in the column called `name`.
    public subscript(name: String) -> PostgresCell {
        guard let column = self.result.columnIndex(named: name) else {
            return PostgresCell(
                column: PostgresColumn(name: name, dataType: .unspecified, format: .text),
                bytes: nil,
                missing: true
            )
        }
        return self[column]
    }

    /// Decodes the whole row into a tuple: `let (id, name) = try row.decode((Int, String).self)`.
    public func decode<each T: PostgresDecodable>(_: (repeat each T).Type) throws(PostgresError) -> (repeat each T) {
        var column = 0
        func next<C: PostgresDecodable>(_: C.Type) throws(PostgresError) -> C {
            defer { column += 1 }
            guard column < self.result.columns.count else {
                throw PostgresError(
                    code: .decoding,
                    message: "the row has \(self.result.columns.count) columns, fewer than requested"
                )
            }
            return try self[column].decode(C.self)
        }
        let values = (repeat try next((each T).self))
        guard column == self.result.columns.count else {
            throw PostgresError(
                code: .decoding,
                message: "the row has \(self.result.columns.count) columns but \(column) were decoded"
            )
        }
        return values
    }
}

/// One value of a row: its bytes (nil for NULL) and the column's type and format.
public struct PostgresCell: Sendable {
    public let column: PostgresColumn
    public let bytes: ArraySlice<UInt8>?
    let missing: Bool

    init(column: PostgresColumn, bytes: ArraySlice<UInt8>?, missing: Bool = false) {
        self.column = column
        self.bytes = bytes
        self.missing = missing
    }

    /// Whether the value is SQL NULL.
    public var isNull: Bool { self.bytes == nil }

    /// Decodes the value as `T`; decoding NULL needs an Optional `T`.
    public func decode<T: PostgresDecodable>(_: T.Type = T.self) throws(PostgresError) -> T {
        if self.missing {
            throw PostgresError(code: .decoding, message: "no column named \(self.column.name)")
        }
        guard let bytes = self.bytes else {
            return try T.decodeNull(column: self.column)
        }
        return try T.decode(from: bytes, column: self.column)
    }
}
