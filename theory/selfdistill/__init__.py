"""Self-distillation beyond the paper, in closed form: the exact risk of a distillation chain in a planted
regression model, and the optimal teacher weights (docs/selfdistill.md).

* :mod:`~theory.selfdistill.planted`: :class:`PlantedModel` (fixed design, planted target, Gaussian label
  noise; in-sample, held-out or population readout), :func:`risk` / :func:`chain_risk` (bias and variance,
  exact) and :func:`monte_carlo_risk` (the same by training on noisy labels);
* :mod:`~theory.selfdistill.optimal`: the basis expansion of a chain (:func:`chain_basis`,
  :func:`coefficients`), the closed-form optimum :func:`optimal_weights` (Das & Sanghavi for one round,
  Pareek, Du & Oh for r), :func:`teacher_weight_quadratic` (ξ* against the noise level and where it crosses 1),
  and :func:`minimize_weights` (numerical, scipy.optimize);
* :mod:`~theory.selfdistill.rounds`: Borup & Andersen's weighted ridge rounds and their limit
  ``ridge(c/(1 − ξ))``, and :func:`optimal_rounds` (the best r-round chain of one filter family).

Example:
    >>> import theory as th
    >>> model = th.selfdistill.PlantedModel.from_spectrum([3.0, 1.0, 0.3], [1.0, 0.5, 0.2], noise_variance=1.0)
    >>> best = th.selfdistill.optimal_weights(model, [th.ridge(0.5), th.ridge(0.5)])
    >>> bool(best.risk.total < th.selfdistill.risk(model, th.ridge(0.5)).total)
    True
"""
from .optimal import OptimalWeights
from .optimal import WeightQuadratic
from .optimal import chain_basis
from .optimal import coefficients
from .optimal import minimize_weights
from .optimal import optimal_weights
from .optimal import teacher_weight_quadratic
from .optimal import teacher_weights_from
from .planted import MonteCarloRisk
from .planted import PlantedModel
from .planted import Risk
from .planted import chain_risk
from .planted import monte_carlo_risk
from .planted import risk
from .planted import risk_of_ratio
from .rounds import FAMILIES
from .rounds import RoundsOptimum
from .rounds import borup_andersen_limit
from .rounds import borup_andersen_rate
from .rounds import borup_andersen_rounds
from .rounds import optimal_rounds

__all__ = [
    "PlantedModel", "Risk", "MonteCarloRisk", "risk", "risk_of_ratio", "chain_risk", "monte_carlo_risk",
    "chain_basis", "coefficients", "teacher_weights_from", "OptimalWeights", "optimal_weights", "WeightQuadratic",
    "teacher_weight_quadratic", "minimize_weights", "borup_andersen_rounds", "borup_andersen_rate",
    "borup_andersen_limit", "RoundsOptimum", "optimal_rounds", "FAMILIES",
]
