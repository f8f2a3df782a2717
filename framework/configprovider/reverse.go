package configprovider

import "maps"

// ReverseTransform puts placeholders back into the task configs a connector
// generated from its resolved config, before they are stored, as Kafka
// Connect's AbstractHerder.reverseTransform does: every key whose value in
// the raw connector config holds a placeholder gets that raw value back in
// each task config that has the key. Tasks then resolve their configs when
// they start, and the config topic never holds the resolved secrets.
//
// A connector that copies a secret under another key, or into part of a
// value, still leaks it into its task configs; check them with
// Redactor.Contains if that matters. rawConnector and taskConfigs are not
// modified.
func ReverseTransform(rawConnector map[string]string, taskConfigs []map[string]string) []map[string]string {
	var withPlaceholders []string
	for k, v := range rawConnector {
		if hasPlaceholder(v) {
			withPlaceholders = append(withPlaceholders, k)
		}
	}
	out := make([]map[string]string, len(taskConfigs))
	for i, tc := range taskConfigs {
		c := maps.Clone(tc)
		for _, k := range withPlaceholders {
			if _, ok := c[k]; ok {
				c[k] = rawConnector[k]
			}
		}
		out[i] = c
	}
	return out
}
