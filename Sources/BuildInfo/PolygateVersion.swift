/// The version of this build of polygate (kept in step with debian/changelog).
public enum PolygateVersion {
    public static let string = "0.1.0"
}
