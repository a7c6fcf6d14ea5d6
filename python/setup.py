"""The extension relstore._core, built against the installed librelstore (pkg-config relstore).

    meson install -C build          # the C library, its headers and relstore.pc
    pip install --no-build-isolation ./python
"""
import shlex
import subprocess

from setuptools import Extension, setup


def pkg_config(*args):
    try:
        out = subprocess.check_output(["pkg-config", *args, "relstore"], text=True)
    except (OSError, subprocess.CalledProcessError):
        raise SystemExit("relstore: the C library is not installed where pkg-config looks "
                         "(meson install -C build; PKG_CONFIG_PATH for another prefix)")
    return shlex.split(out)


libdir = pkg_config("--variable=libdir")[0]
setup(ext_modules=[Extension(
    "relstore._core", ["relstore/_core.c"],
    extra_compile_args=pkg_config("--cflags"),
    extra_link_args=pkg_config("--libs"),
    runtime_library_dirs=[libdir],  # found at run time without ldconfig or LD_LIBRARY_PATH
)])
