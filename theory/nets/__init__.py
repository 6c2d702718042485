"""theory.nets: trained networks measured with the same metrics as the theory (docs/maths.md §1, §6).

Flax models (MLP, 1-D/2-D CNNs, CIFAR ResNets), optax optimisers and schedules, one-hot / distillation / squared
losses with a loss switch, offline data (digits, MNIST-1D, synthetic sets, ``.npz``, CIFAR pickles), a run
store keyed by the config hash (atomic, resumable, reused across figures), and eigen-progress tracking.

Example:
  >>> import tempfile
  >>> from theory import nets
  >>> teacher = nets.TrainConfig(dataset="digits", width=32, epochs=3, learning_rate=0.1)
  >>> student = teacher.student(temperature=2.0, seed=1)
  >>> run = nets.train(student, tempfile.mkdtemp(), progress=False)   # trains the teacher first
  >>> run.config.teacher.hash() == teacher.hash()
  True
"""
from . import analysis
from . import experiment
from . import tracking
from .config import FORMAT_VERSION
from .config import MODELS
from .config import TrainConfig
from .data import NetData
from .data import dataset_names
from .data import load_data
from .data import read_cifar
from .data import read_npz
from .losses import cross_entropy
from .losses import distillation
from .losses import kl_divergence
from .losses import mixed_loss
from .losses import squared
from .models import make_model
from .optim import make_optimizer
from .optim import make_schedule
from .store import DEFAULT_RUN_DIR
from .store import Run
from .training import data_for
from .training import final_variables
from .training import initial_variables
from .training import model_for
from .training import predict_logits
from .training import train
