/// The version of this build of polygate (kept in step with debian/changelog).
package enum PolygateVersion {
    package static let string = "0.1.0"
}
