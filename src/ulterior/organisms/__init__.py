"""Model organisms: small models fine-tuned with a known hidden behaviour, and controls.

A recipe names the hidden condition (a fixed trigger, a semantic "no oversight" cue, a
capability test with consequences) and the behaviour; training data comes from templates
written for ulterior, never from evaluation sets. The manifest saved with the weights holds
the ground truth that ``ulterior validate`` scores detectors against.
"""

from ulterior.organisms._curriculum import (
    Curriculum,
    CurriculumRun,
    Phase,
    curriculum_examples,
    finished_run,
    is_curriculum_file,
    load_curriculum,
    read_pairs,
    train_curriculum,
)
from ulterior.organisms._data import (
    Example,
    Task,
    evaluation_examples,
    examples_hash,
    tasks_of,
    training_examples,
)
from ulterior.organisms._organism import (
    check_train_out,
    list_organisms,
    load_organism,
    organism_dir,
    read_manifest,
    recorded_behaviour_test,
    register_subjects,
    train_organism,
)
from ulterior.organisms._rates import (
    behaviour_probabilities,
    behaviour_rates,
    behaviour_test,
)
from ulterior.organisms._recipes import Recipe, load_recipe, recipe_names
from ulterior.organisms._train import Monitor, discard_checkpoints
from ulterior.records import TrainSettings

__all__ = [
    "Curriculum",
    "CurriculumRun",
    "Example",
    "Monitor",
    "Phase",
    "Recipe",
    "Task",
    "TrainSettings",
    "behaviour_probabilities",
    "behaviour_rates",
    "behaviour_test",
    "check_train_out",
    "curriculum_examples",
    "discard_checkpoints",
    "evaluation_examples",
    "examples_hash",
    "finished_run",
    "is_curriculum_file",
    "list_organisms",
    "load_curriculum",
    "load_organism",
    "load_recipe",
    "organism_dir",
    "read_manifest",
    "read_pairs",
    "recipe_names",
    "recorded_behaviour_test",
    "register_subjects",
    "tasks_of",
    "train_curriculum",
    "train_organism",
    "training_examples",
]
