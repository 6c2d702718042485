"""The public surface of 0.2: one name per thing, deprecated aliases for one release (flax at import: test_kernels)."""
import importlib
import subprocess
import sys
import warnings

import pytest

import theory as th


@pytest.mark.parametrize("name, new", sorted(th._MOVED.items()))
def test_moved_top_level_names_warn_and_resolve_to_their_new_home(name, new):
    module, _, attribute = new.rpartition(".")
    expected = getattr(importlib.import_module(module), attribute)
    with pytest.warns(DeprecationWarning, match=new.replace("theory.", "th.", 1)):
        value = getattr(th, name)
    assert value is expected


@pytest.mark.parametrize("shim, home, names", [
    ("theory.synthetic", "theory.data", ["load_gaussian_mixture", "resample_labels", "SyntheticDataset"]),
    ("theory.dynamics_ce", "theory.dynamics", ["kernel_ce_gd", "kernel_ce_gd_sweep", "cross_entropy"]),
])
def test_moved_modules_warn_and_reexport(shim, home, names):
    code = (f"import warnings, importlib; warnings.simplefilter('error', DeprecationWarning)\n"
            f"import theory\n"
            f"try:\n    importlib.import_module({shim!r})\nexcept DeprecationWarning as w:\n    print('warned', w)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "warned" in result.stdout and home in result.stdout
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        old, new = importlib.import_module(shim), importlib.import_module(home)
    for name in names:
        assert getattr(old, name) is getattr(new, name)


def test_the_top_level_has_one_name_per_thing():
    public = [name for name in dir(th) if not name.startswith("_")]
    objects = {}
    for name in public:
        if name == "nets":
            continue
        value = getattr(th, name)
        if isinstance(value, type(th)):  # namespaces
            continue
        assert id(value) not in objects, f"th.{name} is th.{objects.get(id(value))}"
        objects[id(value)] = name
    assert not set(th._MOVED) & set(public)

