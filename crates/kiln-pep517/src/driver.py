# kiln's PEP 517 driver: runs one hook of the project's build backend in the
# locked build environment and writes what it learnt to a JSON file, so the
# backend's own stdout/stderr stay free-form (kiln shows them on failure).
#
# usage: python driver.py ACTION RESULT_JSON BACKEND BACKEND_PATH_JSON [OUTDIR]
#   ACTION: requires-sdist | requires-wheel | sdist | wheel
# It runs with the source tree as its working directory. For sdist/wheel it
# first asks get_requires_for_build_* (recorded in the result, so kiln can
# refuse a requirement the lock does not hold), then builds into OUTDIR.
import importlib
import json
import os
import platform
import sys


def marker_environment():
    # PEP 508's marker variables, computed as the PEP says.
    impl = sys.implementation
    v = impl.version
    impl_version = "%d.%d.%d" % (v.major, v.minor, v.micro)
    if v.releaselevel != "final":
        impl_version += v.releaselevel[0] + str(v.serial)
    return {
        "implementation_name": impl.name,
        "implementation_version": impl_version,
        "os_name": os.name,
        "platform_machine": platform.machine(),
        "platform_python_implementation": platform.python_implementation(),
        "platform_release": platform.release(),
        "platform_system": platform.system(),
        "platform_version": platform.version(),
        "python_full_version": platform.python_version(),
        "python_version": ".".join(platform.python_version_tuple()[:2]),
        "sys_platform": sys.platform,
    }


def load_backend(spec, backend_path):
    if backend_path:
        sys.path[:0] = [os.path.abspath(p) for p in backend_path]
    module_name, _, attrs = spec.partition(":")
    obj = importlib.import_module(module_name.strip())
    for attr in attrs.strip().split(".") if attrs.strip() else []:
        obj = getattr(obj, attr)
    return obj


def main():
    action, result_path, spec, backend_path = sys.argv[1:5]
    outdir = sys.argv[5] if len(sys.argv) > 5 else None
    # The script's own directory must not shadow anything.
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
    backend = load_backend(spec, json.loads(backend_path))
    kind = "sdist" if action.endswith("sdist") else "wheel"
    result = {"markers": marker_environment(), "requires": []}
    hook = getattr(backend, "get_requires_for_build_" + kind, None)
    if hook is not None:
        result["requires"] = list(hook({}))
    if action in ("sdist", "wheel"):
        # Write what we know first: if the build fails for want of a
        # requirement, kiln can still say which one.
        with open(result_path, "w") as f:
            json.dump(result, f)
        build = getattr(backend, "build_" + kind)
        result["filename"] = build(outdir, {})
    with open(result_path, "w") as f:
        json.dump(result, f)


if __name__ == "__main__":
    main()
