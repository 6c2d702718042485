"""Train and test predictions of the filters from products with K only: the routes (docs/maths.md §9).

See :mod:`theory.krylov` for the table of routes, their cost in products and what is exact.
"""
from __future__ import annotations

import math

import numpy as np
import scipy.sparse.linalg as sla

from .._checks import as_array, as_kernel, as_matrix, check_integer, check_positive
from ..filters import Filter, GradientDescent, GradientFlow, Interpolate, LateSwitch, Mix, Product, Ridge
from ..predict import Prediction, check_prediction_fits

__all__ = ["predict"]


# ----------------------------------------------------------------------------------------------- operators
class _Kernel:
    """The training kernel as products ``K @ V`` (V an (n, w) block), its trace when it is known."""

    def __init__(self, operator):
        if hasattr(operator, "matmat") and hasattr(operator, "shape"):
            n = int(operator.shape[0])
            if tuple(operator.shape) != (n, n):
                raise ValueError(f"operator must be square (n, n), got shape {tuple(operator.shape)}.")
            self.product, self.trace = operator.matmat, None
        else:
            dense = as_kernel(operator, "operator")
            n = dense.shape[0]
            self.product, self.trace = dense.__matmul__, float(np.trace(dense))
        if n == 0:
            raise ValueError("operator must act on at least one training point, got shape (0, 0).")
        self.n = n

    def __call__(self, block: np.ndarray) -> np.ndarray:
        result = np.asarray(self.product(block), dtype=np.float64)
        return result.reshape(block.shape)


def _cross_product(k_train_test, n: int):
    """``H ↦ K_*ᵀ H`` for the train–test kernel (an (n, m) array, or an operator with ``rmatmat``); and m."""
    if hasattr(k_train_test, "rmatmat") and hasattr(k_train_test, "shape"):
        if int(k_train_test.shape[0]) != n or len(k_train_test.shape) != 2:
            raise ValueError(f"k_train_test must have shape (n, m) with n = {n}, got {tuple(k_train_test.shape)}.")
        return (lambda h: np.asarray(k_train_test.rmatmat(h), dtype=np.float64)), int(k_train_test.shape[1])
    cross = as_matrix(k_train_test, "k_train_test", shape=(n, None), what=f"n = {n} training points")
    return cross.T.__matmul__, cross.shape[1]


# ----------------------------------------------------------------------------------------------- routes
def _gather(params: np.ndarray, inputs: np.ndarray, route, kernel, test: bool):
    """Apply one base filter whose parameter array ``params`` (S_f) broadcasts against ``inputs`` (S_x + (n, C)).

    Every distinct input is stacked as columns and ``route(values, block) -> (G, H)`` runs once for the sorted
    distinct parameter values (G, H: ``(len(values), n, w)``); the pairs the broadcast asks for are picked out.
    """
    n, columns = inputs.shape[-2:]
    batch = np.broadcast_shapes(params.shape, inputs.shape[:-2])
    wanted = np.broadcast_to(params, batch).ravel()
    which = np.broadcast_to(np.arange(int(np.prod(inputs.shape[:-2], dtype=int))).reshape(inputs.shape[:-2]),
                            batch).ravel()
    used, position = np.unique(which, return_inverse=True)
    flat = inputs.reshape(-1, n, columns)[used]
    block = np.ascontiguousarray(np.moveaxis(flat, 0, 1).reshape(n, used.size * columns))
    values, slot = np.unique(wanted, return_inverse=True)
    train, coefficients = route(values, block, kernel, test)

    def pick(stack):  # the route may return fewer columns per input than it was given (the late switch)
        stack = stack.reshape(values.size, n, used.size, -1)
        return stack[slot, :, position, :].reshape(batch + (n, stack.shape[-1]))

    return pick(train), (pick(coefficients) if test else None)


def _gd_route(learning_rate: float, switch: int | None = None):
    """GD from F = 0 on the targets ``block``; with a switch step s, ``block = (labels, later)``: GD on the
    labels for s steps, then on ``later`` (the late switch, docs/maths.md §3)."""

    def route(values, block, kernel, test):
        block, later = block if switch is not None else (block, None)
        steps = values.astype(np.int64)
        train = np.empty((steps.size,) + block.shape)
        coefficients = np.empty_like(train) if test else None
        outputs, accumulated, target = np.zeros_like(block), np.zeros_like(block), block
        record = 0
        with np.errstate(over="ignore", invalid="ignore"):
            for step in range(int(steps[-1]) + 1):
                while record < steps.size and steps[record] == step:
                    train[record] = outputs
                    if test:
                        coefficients[record] = accumulated
                    record += 1
                if step == steps[-1]:
                    break
                if not np.all(np.isfinite(outputs)):  # diverged (η·λ_max ≥ 2): stop, the caller refuses
                    train[record:] = np.nan
                    break
                if switch is not None and step == switch:
                    target = later
                residual = learning_rate * (target - outputs)
                accumulated += residual
                outputs += kernel(residual)
        return train, coefficients

    return route


#: a flow step s with s·‖B‖ below this is taken by a second-order Taylor step (relative error < 2e-25).
_TAYLOR_STEP = 1e-8


def _norm_bound(kernel) -> float:
    """An upper bound on ‖K‖₁ (cached): the trace for a dense PSD kernel ≥ λ_max = ‖K‖₂; for an operator the
    1-norm estimate of scipy (``onenormest``, a lower bound in general, so doubled: steps this close to the
    Taylor threshold are rare, and a step over it only costs expm_multiply's exact route)."""
    if getattr(kernel, "norm_bound", None) is None:
        if kernel.trace is not None:
            kernel.norm_bound = kernel.trace * math.sqrt(kernel.n)  # ‖K‖₁ ≤ √n ‖K‖₂ ≤ √n tr K
        else:
            operator = sla.LinearOperator((kernel.n, kernel.n), matvec=lambda v: kernel(np.reshape(v, (-1, 1))),
                                          rmatvec=lambda v: kernel(np.reshape(v, (-1, 1))), dtype=np.float64)
            kernel.norm_bound = 2.0 * float(sla.onenormest(operator))
    return kernel.norm_bound


def _flow_route(values, block, kernel, test):
    """e^{−Kt}·block and tφ₁(−Kt)·block for sorted times, chained (e^{t₂B} = e^{(t₂ − t₁)B} e^{t₁B}).

    Without test outputs the state is block itself under −K. With them it is [[block, 0], [0, D]] under the
    (n + w)-dim B = [[−K, block·D⁻¹], [0, 0]], D = diag(‖block_j‖₁): the top right of e^{tB} applied to it is
    tφ₁(−Kt)·block·D⁻¹·D. The scaling keeps ‖block·D⁻¹‖₁ = 1, so that the columns of block (‖·‖₁ ~ n) do not
    inflate the 1-norm that sets the number of products in ``expm_multiply``.
    """
    n, width = block.shape
    train = np.empty((values.size, n, width))
    coefficients = np.empty_like(train) if test else None
    scale = np.linalg.norm(block, ord=1, axis=0)
    scale = np.where(scale > 0.0, scale, 1.0)
    scaled = block / scale
    size = n + width if test else n
    state = np.zeros((size, 2 * width if test else width))
    state[:n, :width] = block
    if test:
        state[n:, width:] = np.diag(scale)
    previous = 0.0
    for index, time in enumerate(values):
        step = float(time) - previous
        if step > 0.0:
            def forward(v, step=step):
                top = -kernel(np.ascontiguousarray(v[:n]))
                if not test:
                    return step * top
                return step * np.concatenate([top + scaled @ v[n:], np.zeros((width, v.shape[1]))])

            def adjoint(v, step=step):
                top = np.ascontiguousarray(v[:n])
                if not test:
                    return -step * kernel(top)
                return step * np.concatenate([-kernel(top), scaled.T @ top])

            augmented = sla.LinearOperator((size, size), matvec=lambda v: forward(np.reshape(v, (-1, 1))).ravel(),
                                           rmatvec=lambda v: adjoint(np.reshape(v, (-1, 1))).ravel(), matmat=forward,
                                           rmatmat=adjoint, dtype=np.float64)
            if step < _TAYLOR_STEP and step * (_norm_bound(kernel) + 1.0) < _TAYLOR_STEP:  # bound: only then
                # e^{sB} = I + sB + (sB)²/2 to (s‖B‖)³/6 < 2e-25 relative (scipy's expm_multiply divides by zero
                # when s‖B‖ underflows); ‖B‖₁ ≤ ‖K‖₁ + 1 since the columns of `scaled` have ‖·‖₁ = 1.
                first = forward(state)
                state = state + first + 0.5 * forward(first)
            else:
                trace = 0.0 if kernel.trace is None else -step * kernel.trace
                state = sla.expm_multiply(augmented, state, traceA=trace)
        previous = float(time)
        train[index] = block - state[:n, :width]
        if test:
            coefficients[index] = state[:n, width:]
    return train, coefficients


def _ridge_solve(kernel, rhs: np.ndarray, shifts: np.ndarray, goal: np.ndarray, maxiter: int):
    """(K + c_j I) a_j = rhs_j for every column j by conjugate gradients, all unconverged columns sharing one
    product per iteration.

    When the recursive residuals meet ``goal`` the true residual is recomputed with the product K A that the
    prediction needs anyway, and CG restarts on it (iterative refinement) until the true residual meets
    ``goal`` per column, stops decreasing (rounding: about eps·(λ_max + c)‖A‖), or ``maxiter`` iterations
    of a round pass. Returns A, K A, the true residual norms per column and the number of products.
    """
    solution, residual, products = np.zeros_like(rhs), rhs.copy(), 0
    norms = np.linalg.norm(rhs, axis=0)
    for _ in range(8):  # refinement rounds on the true residual
        correction, r = np.zeros_like(rhs), residual.copy()
        p, rr = r.copy(), np.sum(r * r, axis=0)
        active = np.sqrt(rr) > goal
        for _ in range(maxiter):
            if not active.any():
                break
            columns = np.flatnonzero(active)
            q = kernel(np.ascontiguousarray(p[:, columns])) + shifts[columns] * p[:, columns]
            products += 1
            alpha = rr[columns] / np.sum(p[:, columns] * q, axis=0)
            correction[:, columns] += alpha * p[:, columns]
            r[:, columns] -= alpha * q
            new = np.sum(r[:, columns] ** 2, axis=0)
            p[:, columns] = r[:, columns] + (new / rr[columns]) * p[:, columns]
            rr[columns] = new
            active[columns] = np.sqrt(new) > goal[columns]
        solution += correction
        product = kernel(solution)
        products += 1
        residual = rhs - product - shifts * solution
        previous, norms = norms, np.linalg.norm(residual, axis=0)
        failing = norms > goal
        if not failing.any() or active.any() or np.all(norms[failing] > 0.5 * previous[failing]):
            break  # converged, out of iterations, or stalled at the rounding floor
    return solution, product, norms, products


def _ridge(strengths: np.ndarray, inputs: np.ndarray, kernel, tol: float, maxiter: int):
    """Ridge on every (strength, input) pair of the broadcast: one batched CG solve."""
    n, columns = inputs.shape[-2:]
    batch = np.broadcast_shapes(strengths.shape, inputs.shape[:-2])
    pairs = np.broadcast_to(inputs, batch + (n, columns)).reshape(-1, n, columns)
    rhs = np.ascontiguousarray(np.moveaxis(pairs, 0, 1).reshape(n, -1))
    shifts = np.repeat(np.broadcast_to(strengths, batch).ravel(), columns)
    goal = tol * np.linalg.norm(rhs, axis=0)
    solution, product, norms, products = _ridge_solve(kernel, rhs, shifts, goal, maxiter)
    if np.any(norms > goal):
        worst = int(np.argmax(norms / np.maximum(goal, np.finfo(float).tiny)))
        relative = norms[worst] / max(np.linalg.norm(rhs[:, worst]), np.finfo(float).tiny)
        raise ValueError(f"tol = {tol:g} was not reached by conjugate gradients on (K + cI) (strength c = "
                         f"{shifts[worst]:.4g}: relative residual {relative:.3g} after {products} products, "
                         f"maxiter = {maxiter} per round); rounding limits it to about eps·λ_max/c, so pass a larger "
                         "tol or strength, or raise maxiter.")

    def unstack(block):
        return np.moveaxis(block.reshape(n, -1, columns), 0, 1).reshape(batch + (n, columns))

    return unstack(product), unstack(solution)


def _apply(filter: Filter, inputs: np.ndarray, kernel, test: bool, tol: float, maxiter: int):
    """``(g(K) inputs, (g/λ)(K) inputs or None)`` with the batch shapes broadcast (docs/maths.md §3)."""
    if isinstance(filter, GradientDescent):
        return _gather(filter.steps, inputs, _gd_route(filter.learning_rate), kernel, test)
    if isinstance(filter, GradientFlow):
        return _gather(filter.time, inputs, _flow_route, kernel, test)
    if isinstance(filter, Ridge):
        train, coefficients = _ridge(filter.strength, inputs, kernel, tol, maxiter)
        return train, (coefficients if test else None)
    if isinstance(filter, Product):
        trained = next((i for i, f in enumerate(filter.filters) if f.trains), None)
        order = [f for i, f in enumerate(filter.filters) if i != trained]
        for factor in order:
            inputs, _ = _apply(factor, inputs, kernel, False, tol, maxiter)
        if trained is None:
            return inputs, None
        return _apply(filter.filters[trained], inputs, kernel, test, tol, maxiter)
    if isinstance(filter, Mix):
        teacher, _ = _apply(filter.teacher, inputs, kernel, False, tol, maxiter)
        return (1.0 - filter.teacher_weight) * inputs + filter.teacher_weight * teacher, None
    if isinstance(filter, LateSwitch):
        teacher, _ = _apply(filter.teacher, inputs, kernel, False, tol, maxiter)
        labels, teacher = np.broadcast_arrays(inputs, teacher)
        columns = inputs.shape[-1]
        gd = _gd_route(filter.learning_rate, filter.switch_step)

        def route(values, block, kernel, test):  # block: [labels | teacher] per input, side by side
            shaped = block.reshape(block.shape[0], -1, 2, columns)
            return gd(values, (shaped[:, :, 0].reshape(block.shape[0], -1),
                               shaped[:, :, 1].reshape(block.shape[0], -1)), kernel, test)

        return _gather(filter.steps, np.concatenate([labels, teacher], axis=-1), route, kernel, test)
    if isinstance(filter, Interpolate):
        raise ValueError("interpolate() has no Krylov route (it is the limit c → 0 of ridge, or t → ∞ of flow, "
                         "and needs the null space of K); use th.ridge with a small strength here, or a top-k "
                         "Spectrum with theory.krylov.complement_bound for the part of the spectrum it leaves out.")
    raise ValueError(f"filter {filter!r} has no Krylov route; use theory.predict with a Spectrum (dense or top-k "
                     "with theory.krylov.complement_bound).")


# ----------------------------------------------------------------------------------------------- public
def predict(operator, y, filter: Filter, *, k_train_test=None, f_train_0=None, f_test_0=None,
            tol: float = 1e-10, maxiter: int | None = None) -> Prediction:
    """Train (and test) outputs of ``filter`` from products with K only (the module's routes; docs/maths.md §9).

    The same outputs as :func:`theory.predict` with a Spectrum of K (to rounding for GD, to 2⁻⁵³ backward
    error for flow, to ``tol`` for ridge: see the module docstring for the bounds and the number of products),
    without an eigendecomposition.

    Args:
        operator: the training kernel K: an object with ``.shape == (n, n)`` and ``.matmat(V)`` (a scipy
            ``LinearOperator``), or a dense symmetric ``(n, n)`` array. K must be symmetric PSD (not checked for
            an operator), and GD's step stable (η·λ_max < 2: not checked up front, as λ_max is not known here;
            a diverging recurrence is refused at the end).
        y: ``(n,)`` or ``(n, C)`` targets; a leading batch shape ``(..., n, C)`` broadcasts against the filter's.
        filter: ``gd``, ``flow``, ``ridge``, products of them (distillation), ``mix`` inside a product,
            ``late_switch``. ``interpolate`` has none (a ValueError names the alternatives).
        k_train_test: optional K_* ``(n, m)``: an array, or an operator with ``.shape`` and ``.rmatmat(H)``.
        f_train_0: optional initial training outputs (y's shape); f_test_0: initial test outputs ``(m[, C])``.
        tol: relative residual per column for the conjugate-gradient solves of ridge.
        maxiter: conjugate-gradient iterations per refinement round (default 10·n).

    Returns:
        :class:`~theory.predict.Prediction`: ``.train`` ``S + (n[, C])``, ``.test`` ``S + (m[, C])`` or None.

    Raises:
        ValueError: mismatched shapes, a filter without a Krylov route, ridge not converged to ``tol``.
        TypeError: test outputs of a target transform (``mix`` alone), as :func:`theory.predict`.
    """
    if not isinstance(filter, Filter):
        raise TypeError(f"filter must be a theory filter (th.gd, th.flow, …), got {type(filter).__name__}.")
    kernel = _Kernel(operator)
    n = kernel.n
    tol = check_positive(tol, "tol")
    maxiter = 10 * n if maxiter is None else check_integer(maxiter, "maxiter", minimum=1)
    targets = as_array(y, "y")
    vector = targets.ndim == 1
    targets = targets[:, None] if vector else targets
    if targets.ndim < 2 or targets.shape[-2] != n:
        raise ValueError(f"y must have shape (n,) or (n, C) with n = {n}, got shape {np.shape(y)}.")
    columns = targets.shape[-1]

    def rows(value, count, name):
        value = as_array(value, name)
        value = value[..., None] if vector else value
        if value.shape[-2:] != (count, columns):
            wanted = (count,) if vector else (count, columns)
            raise ValueError(f"{name} must have shape {wanted} (…, matching y), got shape {np.shape(value)}.")
        return value

    start = np.zeros((n, columns)) if f_train_0 is None else rows(f_train_0, n, "f_train_0")
    cross = None
    if k_train_test is not None:
        cross, m = _cross_product(k_train_test, n)
        test_start = np.zeros((m, columns)) if f_test_0 is None else rows(f_test_0, m, "f_test_0")
    elif f_test_0 is not None:
        raise ValueError("f_test_0 was given without k_train_test; pass the (n, m) train-test kernel too.")
    test = cross is not None
    if test and not filter.trains:
        filter.over_eigenvalue(np.zeros(1))  # raises the same TypeError as theory.predict
    check_prediction_fits(filter, np.broadcast_shapes(targets.shape, start.shape), m if test else 0)
    delta, coefficients = _apply(filter, targets - start, kernel, test, tol, maxiter)
    if not np.all(np.isfinite(delta)):
        raise ValueError(f"the outputs of {filter!r} are not finite: gradient descent diverges when learning_rate >= "
                         "2 / lambda_max (the recurrence is GD itself; theory.predict refuses such a step up front).")
    train = start + delta
    outputs = None
    if test:
        batch = coefficients.shape[:-2]
        flat = np.moveaxis(coefficients.reshape((-1, n, columns)), 0, 1).reshape(n, -1)
        image = cross(np.ascontiguousarray(flat)).reshape(m, -1, columns)
        outputs = test_start + np.moveaxis(image, 1, 0).reshape(batch + (m, columns))
    if vector:
        train = train[..., 0]
        outputs = None if outputs is None else outputs[..., 0]
    return Prediction(train=train, test=outputs, filter=filter)
