//! A profile's settings, read from the plan's `AgentSpec` with the types the checker already
//! enforced (src/ir/adapter.rs lists which adapter takes which setting).

use crate::plan::AgentSpec;

/// An agent profile's settings, by name.
pub struct Profile<'a> {
    settings: &'a [(String, serde_json::Value)],
}

impl<'a> Profile<'a> {
    /// The settings of `spec`.
    pub fn of(spec: &'a AgentSpec) -> Self {
        Profile {
            settings: &spec.settings,
        }
    }

    fn get(&self, name: &str) -> Option<&'a serde_json::Value> {
        self.settings
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v)
    }

    /// A string setting (`model`, `bin`, `permission_mode`).
    pub fn string(&self, name: &str) -> Option<&'a str> {
        self.get(name)
            .and_then(|v| v.as_str())
            .filter(|s| !s.is_empty())
    }

    /// A number setting (`max_turns`).
    pub fn number(&self, name: &str) -> Option<u64> {
        self.get(name).and_then(|v| v.as_u64())
    }

    /// A list-of-strings setting (`args`, `allow`, `command`).
    pub fn strings(&self, name: &str) -> Vec<String> {
        self.get(name)
            .and_then(|v| v.as_array())
            .map(|items| {
                items
                    .iter()
                    .filter_map(|i| i.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The profile's `env`, after the variables its `pass_env` names, with their values in
    /// wfc's environment: what the session's environment gets from the profile.
    pub fn variables(&self) -> Vec<(String, String)> {
        let mut variables = crate::runtime::process::passed_env(&self.strings("pass_env"));
        variables.extend(self.env());
        variables
    }

    /// The `env` setting, stored as a list of `[key, value]` pairs.
    pub fn env(&self) -> Vec<(String, String)> {
        self.get("env")
            .and_then(|v| v.as_array())
            .map(|pairs| {
                pairs
                    .iter()
                    .filter_map(|pair| {
                        let pair = pair.as_array()?;
                        Some((
                            pair.first()?.as_str()?.to_string(),
                            pair.get(1)?.as_str()?.to_string(),
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}
