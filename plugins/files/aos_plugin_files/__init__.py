"""aos-plugin-files: an example third-party AOS plugin, written only against the public API."""

from aos_plugin_files.classifier import FilesClassifier
from aos_plugin_files.skill import ReadFile, ReadFileInput, ReadFileOutput

__version__ = "0.1.0"
__all__ = ["FilesClassifier", "ReadFile", "ReadFileInput", "ReadFileOutput", "__version__"]
