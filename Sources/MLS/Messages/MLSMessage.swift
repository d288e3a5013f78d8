/// `MLSMessage`: the envelope of everything MLS sends.
package enum MLSMessage: MLSCodable, Hashable {
    case publicMessage(PublicMessage)
    case privateMessage(PrivateMessage)
    case welcome(Welcome)
    case groupInfo(GroupInfo)
    case keyPackage(KeyPackage)

    package var wireFormat: WireFormat {
        switch self {
        case .publicMessage: .publicMessage
        case .privateMessage: .privateMessage
        case .welcome: .welcome
        case .groupInfo: .groupInfo
        case .keyPackage: .keyPackage
        }
    }

    package init(from reader: inout MLSReader) throws(MLSDecodingError) {
        let version = try reader.readUInt16()
        guard version == MLSCode.mls10 else { throw reader.error(.unknownValue, "protocol version \(version)") }
        switch try reader.read(WireFormat.self) {
        case .publicMessage: self = .publicMessage(try reader.read(PublicMessage.self))
        case .privateMessage: self = .privateMessage(try reader.read(PrivateMessage.self))
        case .welcome: self = .welcome(try reader.read(Welcome.self))
        case .groupInfo: self = .groupInfo(try reader.read(GroupInfo.self))
        case .keyPackage: self = .keyPackage(try reader.read(KeyPackage.self))
        }
    }

    package func encode(to writer: inout MLSWriter) {
        writer.writeUInt16(MLSCode.mls10)
        writer.write(self.wireFormat)
        switch self {
        case .publicMessage(let m): writer.write(m)
        case .privateMessage(let m): writer.write(m)
        case .welcome(let m): writer.write(m)
        case .groupInfo(let m): writer.write(m)
        case .keyPackage(let m): writer.write(m)
        }
    }
}
