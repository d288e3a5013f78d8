/// The shape of the traffic of a fault run: users (one device each), the conversations between
/// them, and how many numbered messages they send.
package struct TrafficPlan: Sendable {
    /// Users, each with one device that sends and reads.
    package var users = 6
    /// Two-member conversations (user 2n with user 2n+1, so that three of them cover six users).
    package var directMessages = 3
    /// Rooms of ``roomSize`` consecutive users.
    package var rooms = 1
    package var roomSize = 4
    /// Messages sent in all, spread evenly over the users that are in a conversation.
    package var messages = 600
    /// A pause after each acknowledged send of one user (zero: closed loop).
    package var pause: Duration = .milliseconds(5)
    /// How long a `Send` may go unanswered before the connection is given up and the message
    /// sent again on a new one.
    package var sendTimeout: Duration = .seconds(10)

    package init() {}

    /// The conversations as lists of user indices.
    var conversations: [[Int]] {
        var out: [[Int]] = []
        for n in 0..<self.directMessages { out.append([(2 * n) % self.users, (2 * n + 1) % self.users]) }
        for n in 0..<self.rooms {
            let first = (n * self.roomSize) % self.users
            out.append((0..<min(self.roomSize, self.users)).map { (first + $0) % self.users })
        }
        return out
    }
}
