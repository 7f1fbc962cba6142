# TEMPORARY merge shim (issue 11): the lead removes this after merging; import from sora2_widgets.generator.
"""Re-exports for code that still imports ``sora2_widgets._generator``."""

from .generator import UNKNOWN_SUBMIT as UNKNOWN_SUBMIT
from .generator import Generation as Generation
from .generator import Generator as Generator
from .generator import Progress as Progress
from .generator import generate as generate
from .generator import generate_many as generate_many
