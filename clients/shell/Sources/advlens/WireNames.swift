import Settings

extension WireEnum {
    /// The value an option names, or the daemon's own words for a name outside the set
    /// (`params.<field>: unknown "x"; known: ...`, exit status 1, as if the daemon had refused it).
    static func option(_ name: String, field: String) throws -> Self {
        do { return try named(name, field: field) } catch let e as SettingsError { throw ClientError.failed("params.\(e.description)") }
    }
}
