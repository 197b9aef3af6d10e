//! Built-in presets that are not run configurations: benchmark suites.

/// Built-in benchmark suites: (name, YAML).
pub const SUITES: &[(&str, &str)] = &[
    ("demo", include_str!("../presets/suites/demo.yaml")),
    ("paper", include_str!("../presets/suites/paper.yaml")),
];
