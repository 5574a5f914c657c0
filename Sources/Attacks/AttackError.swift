import Settings

/// Bad attack parameters, naming the field (the daemon prefixes where the settings sit):
/// the Settings module's one error for every settings object.
public typealias AttackError = SettingsError
