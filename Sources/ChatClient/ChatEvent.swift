/// Something a running instance tells its subscribers (`polychat listen`): a message that
/// arrived from the gateway, or a notice for the user.
package enum ChatEvent: Sendable, Equatable {
    case message(conversation: String, ChatMessage)
    case notice(String)
}
