"""Root pytest configuration: the deprecated shim modules are not collected as doctest modules (importing
them warns by design; tests/test_deprecations.py checks that they warn and re-export)."""
collect_ignore = ["theory/synthetic.py", "theory/ntk_mlp.py", "theory/dynamics_ce.py"]
