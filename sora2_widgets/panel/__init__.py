"""The notebook panel: ``Sora2Panel`` (ipywidgets view) over ``PanelController`` (plain state).

``sw.Sora2Panel()`` shows it; tests and scripts drive ``panel.controller`` directly.
"""

from __future__ import annotations

from ._controller import PanelController
from ._jobs import JobState, JobStatus
from ._media import ImageChoice
from ._remix import RemixCandidate
from ._view import CSS_CLASSES, Sora2Panel

__all__ = ["CSS_CLASSES", "ImageChoice", "JobState", "JobStatus", "PanelController", "RemixCandidate", "Sora2Panel"]
