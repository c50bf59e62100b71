"""Look inside: activation capture, contrast datasets, linear probes and the transcript monitor.

Capture is scoped (hooks removed in ``finally``), stops after the deepest requested layer
and caches fp32 shards in the store's artifact directory. Probes follow scikit-learn
(``fit(X, y)`` returns self, fitted state ends in ``_``) and save as safetensors + JSON.
"""

from ulterior.probes._capture import (
    ActivationCapturer,
    CaptureConfig,
    CapturedBatch,
    CaptureText,
    forward_to_layer,
    model_shape,
    residual_hooks,
)
from ulterior.probes._datasets import (
    ContrastDataset,
    ContrastExample,
    DatasetRegistry,
    control_chat,
    default_datasets,
    defection_pairs,
    instructed_pairs,
    liar_questions,
    negated_statements,
    render_example,
    split_by_group,
    true_false_statements,
)
from ulterior.probes._default import (
    DefaultProbe,
    LayerChoice,
    candidate_layers,
    default_probe,
    select_layer,
)
from ulterior.probes._estimators import (
    CovAdjustedDiffMeanProbe,
    DiffMeanProbe,
    LogisticProbe,
    Probe,
    load_probe,
    make_probe,
)
from ulterior.probes._evaluate import (
    auroc,
    auroc_with_ci,
    auroc_with_cluster_ci,
    calibrate_threshold,
    evaluate_scores,
    recall_at_fpr,
)
from ulterior.probes._fit import (
    EvalConfig,
    FitConfig,
    evaluate_saved_probe,
    fit_probe,
    generalization_matrix,
    read_probe,
)
from ulterior.probes._monitor import MonitorConfig, monitor_transcripts, read_transcripts
from ulterior.probes._prompt_probe import (
    PromptProbe,
    condition_layer,
    fit_prompt_probes,
    prompt_end_activations,
)
from ulterior.probes._readout import (
    SavedProbe,
    answer_scores,
    probe_readout,
    sign_flip_p_value,
)
from ulterior.probes._session import ProbeJob
from ulterior.probes._shards import ShardStats, capture_cached
from ulterior.probes._sweep import SweepConfig, sweep_layers

__all__ = [
    "ActivationCapturer",
    "CaptureConfig",
    "CaptureText",
    "CapturedBatch",
    "ContrastDataset",
    "ContrastExample",
    "CovAdjustedDiffMeanProbe",
    "DatasetRegistry",
    "DefaultProbe",
    "DiffMeanProbe",
    "EvalConfig",
    "FitConfig",
    "LayerChoice",
    "LogisticProbe",
    "MonitorConfig",
    "Probe",
    "ProbeJob",
    "PromptProbe",
    "SavedProbe",
    "ShardStats",
    "SweepConfig",
    "answer_scores",
    "auroc",
    "auroc_with_ci",
    "auroc_with_cluster_ci",
    "calibrate_threshold",
    "candidate_layers",
    "capture_cached",
    "condition_layer",
    "control_chat",
    "default_datasets",
    "default_probe",
    "defection_pairs",
    "evaluate_saved_probe",
    "evaluate_scores",
    "fit_probe",
    "fit_prompt_probes",
    "forward_to_layer",
    "generalization_matrix",
    "instructed_pairs",
    "liar_questions",
    "load_probe",
    "make_probe",
    "model_shape",
    "monitor_transcripts",
    "negated_statements",
    "probe_readout",
    "prompt_end_activations",
    "read_probe",
    "read_transcripts",
    "recall_at_fpr",
    "render_example",
    "residual_hooks",
    "select_layer",
    "sign_flip_p_value",
    "split_by_group",
    "sweep_layers",
    "true_false_statements",
]
