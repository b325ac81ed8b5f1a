"""Configuration files: YAML read with line numbers, validated by pydantic models.

- :mod:`watcher.config.yamlload` reads any YAML file keeping each value's position and
  turns validation errors into ``path:line:column: message`` ConfigErrors.
- :mod:`watcher.config.sources` is what a source definition may say.
- :mod:`watcher.config.loader` loads every source in ``sources/``.
"""

from watcher.config.loader import load_source_file, load_sources
from watcher.config.yamlload import Located, load_documents

__all__ = ["Located", "load_documents", "load_source_file", "load_sources"]
