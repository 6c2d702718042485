"""Train and test predictions of the filters from products with K only: no eigendecomposition (docs/maths.md §9).

The closed forms of docs/maths.md §3,

    F_train = F₀ + g(K) (Y − F₀),      F_test = F_test,0 + K_*ᵀ (g/λ)(K) (Y − F₀),

need only the actions of g(K) and (g/λ)(K) on the n × C block R = Y − F₀, and each filter of a trained model
has a route that applies them with products K·V (V an n × w block):

================  ============================================================  ============================
filter             route                                                         products with K
================  ============================================================  ============================
``gd(η, t)``       the recurrence F ← F + ηK(R − F), A ← A + η(R − F); F = g(K)R,   max(t) (the whole trajectory
                   A = (g/λ)(K)R                                                  in one pass)
``flow(t)``        the action of exp(t·B) on [[R, 0], [0, D]], with B the          ≈ 10·t·‖K‖₁ + the norm
                   (n + C)-dim block operator [[−K, R·D⁻¹], [0, 0]] (scipy's        estimates (n = 1,000 RBF:
                   ``expm_multiply``): e^{−Kt}R and tφ₁(−Kt)R = (g/λ)(K)R          21, ~200, ~450 products at
                                                                                 t·λ_max = 1, 10, 100)
``ridge(c)``       conjugate gradients on (K + cI)A = R, every column and every    about √κ·log(1/tol),
                   strength at once; F = K A (one more product)                   κ = (λ_max + c)/c
``s * T``          the teacher's g_T(K) on R, then the student's route on that     the sum of the two
``mix(ξ, T)``      (1 − ξ)R + ξ g_T(K)R                                            the teacher's
``late_switch``    the GD recurrence with the target R up to step s, g_T(K)R after  the teacher's + max(t)
================  ============================================================  ============================

Why the block operator gives φ₁: with B = [[−K, R], [0, 0]], w(t) = e^{tB}[0; I] solves w' = Bw, i.e.
top' = −K top + R, top(0) = 0, so top(t) = ∫₀ᵗ e^{−Ks} R ds = tφ₁(−Kt)R = K⁻¹(I − e^{−Kt})R on the range of K
and t R on its null space — exactly (g/λ)(K)R for g = 1 − e^{−λt}, with its limit at λ = 0, and no division
by an eigenvalue. The same exponential applied to [R; 0] gives [e^{−Kt}R; 0]; both are carried in one call,
and successive times chain (e^{t₂B} = e^{(t₂ − t₁)B} e^{t₁B}). The column scaling D = diag(‖R_j‖₁) (the block
R·D⁻¹ applied to [0; D]) changes nothing in exact arithmetic but keeps ‖R·D⁻¹‖₁ = 1: unscaled, the n-row
columns of R would inflate the 1-norm that sets the number of products. Flow is the route for moderate times:
GD with η = 1/λ_max reaches the same time t·λ_max in t·λ_max products.

Exact and bounded: every route is exact in exact arithmetic (no truncation of the spectrum). GD is the
recurrence itself (exact up to rounding); flow is exact to scipy's double-precision tolerance (2⁻⁵³ backward
error); ridge to the conjugate-gradient tolerance ``tol``: with the true residual ρ = R − (K + cI)A checked
at the end, ‖F_train − exact‖ ≤ ‖ρ‖·λ_max/(λ_max + c) ≤ tol·‖R‖ per column, and
‖F_test − exact‖ ≤ ‖K_*‖₂·‖ρ‖/c (rounding limits ‖ρ‖ to about eps·(λ_max/c)·‖R‖: a CG that stalls above
tol raises). In a product the teacher's error passes through the student's filter (|g_s| ≤ 1 for flow, ridge
and stable monotone GD) and adds to the student's. Measured at n = 4,000 (RBF, C = 10, m = 500, against the
dense path): GD, flow, late switch ≤ 1.4e-13 relative, ridge (c ≥ 10⁻³, κ ≈ 2.4·10⁶) 2e-10 at tol = 1e-10. Interpolation (c → 0, t → ∞) has no such route: use a top-k
:class:`~theory.spectral.Spectrum` with :func:`complement_bound` for the eigenvalues it leaves out
(theory/krylov/bound.py).

Example:
    >>> import numpy as np, theory as th
    >>> from scipy.sparse.linalg import aslinearoperator
    >>> x = np.random.default_rng(0).normal(size=(40, 5))
    >>> kernel, cross = x @ x.T / 5, x @ x[:7].T / 5
    >>> y = x[:, 0]
    >>> fast = th.krylov.predict(aslinearoperator(kernel), y, th.flow(time=[0.5, 2.0]), k_train_test=cross)
    >>> dense = th.predict(th.Spectrum.from_kernel(kernel), y, th.flow(time=[0.5, 2.0]), k_train_test=cross)
    >>> bool(np.allclose(fast.train, dense.train)), bool(np.allclose(fast.test, dense.test))
    (True, True)
"""
from .bound import ComplementBound
from .bound import complement_bound
from .routes import predict

__all__ = ["predict", "complement_bound", "ComplementBound"]
