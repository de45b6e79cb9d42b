"""Training and evaluation: `fit` (with exact resume and DDP), `evaluate_checkpoint`, the LR finder,
two-stream fusion, and `load_run`, the one loader of a trained run."""

from ..core.exports import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "train": ["fit", "resume_config"],
    "builders": ["build_model"],
    "evaluate": ["evaluate_checkpoint"],
    "runs": ["Run", "load_run"],
    "lr_find": ["lr_find"],
    "fusion": ["evaluate_fusion", "load_twostream"],
    "metrics": ["summarize"],
})
