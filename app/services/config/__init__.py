"""Organizations and their tree, and each org's validated, inherited configuration.

`orgs` is the tree. The config, bottom up: `schema` (the sections, defaults and rules),
`inheritance` (the effective config), `cache` (per process), `gates` (the cached questions),
`field_errors`, `writes` (audited, published changes) and `logo`. See docs/config.md.
"""
