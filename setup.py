"""Builds echoic's C++ core with CMake and installs it next to the Python package.

`pip install .` runs this through setuptools: one CMake build produces the pybind11
module `_echoic` and the C library `libechoic.so` (+ `echoic.h`), which is placed in
`echoic/lib` and `echoic/include` inside the installed package.
"""
import os
import subprocess
import sys
from pathlib import Path

from setuptools import Extension, find_packages, setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent


class CMakeExtension(Extension):
    def __init__(self, name: str) -> None:
        super().__init__(name, sources=[])


class CMakeBuild(build_ext):
    def build_extension(self, ext: Extension) -> None:
        import pybind11

        ext_path = Path(self.get_ext_fullpath(ext.name)).resolve()
        ext_dir = ext_path.parent
        pkg_dir = ext_dir / "echoic"
        build_dir = Path(self.build_temp).resolve() / "cmake"
        build_dir.mkdir(parents=True, exist_ok=True)
        build_type = os.environ.get("ECHOIC_BUILD_TYPE", "Release")
        args = [
            f"-DCMAKE_BUILD_TYPE={build_type}",
            f"-DPython_EXECUTABLE={sys.executable}",
            f"-Dpybind11_DIR={pybind11.get_cmake_dir()}",
            f"-DECHOIC_VERSION={self.distribution.get_version()}",
            f"-DECHOIC_PYTHON_MODULE_DIR={ext_dir}",
            f"-DECHOIC_C_LIBRARY_DIR={pkg_dir / 'lib'}",
            f"-DECHOIC_C_HEADER_DIR={pkg_dir / 'include'}",
            "-DECHOIC_BUILD_TESTS=OFF",
            "-DECHOIC_BUILD_PYTHON=ON",
        ]
        jobs = os.environ.get("CMAKE_BUILD_PARALLEL_LEVEL") or str(os.cpu_count() or 2)
        subprocess.run(["cmake", "-S", str(ROOT), "-B", str(build_dir), *args], check=True)
        subprocess.run(["cmake", "--build", str(build_dir), "--parallel", jobs], check=True)
        subprocess.run(["cmake", "--install", str(build_dir), "--component", "echoic_package"], check=True)


setup(
    package_dir={"": "sdk"},
    packages=find_packages(where="sdk"),
    package_data={"echoic": ["py.typed", "*.pyi", "models.json", "models/**/*"]},
    include_package_data=True,
    ext_modules=[CMakeExtension("_echoic")],
    cmdclass={"build_ext": CMakeBuild},
    zip_safe=False,
)
