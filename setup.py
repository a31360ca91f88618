"""deep-retrieval: R-MAC deep image retrieval on BVLC Caffe, for same-origin frames of short videos."""

from pathlib import Path

from setuptools import find_packages, setup

here = Path(__file__).parent
requirements = [
    line.split("#")[0].strip()
    for line in (here / "requirements.txt").read_text().splitlines()
    if line.split("#")[0].strip()
]

setup(
    name="deep-retrieval",
    version="0.1.0",
    description="R-MAC deep image retrieval (Gordo et al.) on BVLC Caffe, for same-origin frames of short videos",
    long_description=(here / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    python_requires=">=3.11",
    packages=find_packages(include=["myPython", "myPython.*", "evaluation"]),
    # Prototxts name their Python layers `module: 'custom_layers'`.
    py_modules=["custom_layers"],
    package_data={"evaluation": ["compute_ap.cpp"], "myPython.pool": ["rootsift_bits.npz"]},
    install_requires=requirements,
    entry_points={"console_scripts": ["deep-retrieval = myPython.apps.cli:main"]},
)
