"""``tavbo dashboard`` (a live, read-only web view of the LaunchPad) and ``tavbo report --html``
(the same views in one self-contained file); see docs/dashboard.md."""
