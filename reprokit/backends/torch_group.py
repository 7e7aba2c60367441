"""Several seeds of one experiment trained together in torch, each exactly its own solo run.

Every weight carries a leading seed axis and every operation is batched over it (``bmm``, one
gather per embedding table), so seed ``s`` only ever meets its own weights: its initial weights
are the ones ``torch.build(spec, s)`` draws (in torch's own parametrization for a document
written for torch: ``Group.summed_biases``), its shuffle order the generator ``fit`` seeds with
``s``, its data the data ``prepare(s)`` made, and its loss is its own batch mean. The losses of the
group are summed before ``backward``, so each seed's gradient is its solo gradient; the optimizers
are elementwise. What differs from the solo run is only the order of float32 sums inside the cell
(an explicit loop over steps instead of torch's fused kernel), which
``tests/unit/test_grouped.py`` bounds.

Why: the cheap families are bound by per-step overhead (docs/verdicts.md, "Seeds until decided"), and the overhead of one
batched step is about that of one solo step.
"""

from __future__ import annotations

import time

import numpy as np
import torch
from torch import nn

from reprokit import models as m
from reprokit import progress
from reprokit.backends import torch as solo

# families whose models this trainer builds (no Conv1D, no bidirectional core, no L2 penalty)
SUPPORTED = (m.Embedding, m.Recurrent, m.Dense)


def supports(spec: m.Model) -> bool:
    return all(isinstance(layer, SUPPORTED) and not getattr(layer, "bidirectional", False)
               and not getattr(layer, "l2", 0.0) for layer in spec.layers)


def _bmm(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """(S, ..., i) @ (S, i, o) -> (S, ..., o), one matrix product per seed."""
    s, i = x.shape[0], x.shape[-1]
    return torch.bmm(x.reshape(s, -1, i), w).reshape(*x.shape[:-1], w.shape[-1])


class SimpleRecurrence(torch.autograd.Function):
    """SimpleRNN's recurrence ``h_t = tanh(z_t + h_{t-1} U)`` over time-major inputs (T, S, B, U)
    with its backward written out: two operations per step each way, where autograd records five
    (the long IMDB-Q sweeps, 200 steps, are bound by them). Returns every step's state."""

    @staticmethod
    def forward(ctx, projected: torch.Tensor, recurrent: torch.Tensor) -> torch.Tensor:
        states = torch.empty_like(projected)
        h = projected.new_zeros(projected.shape[1:])
        for t in range(len(projected)):
            torch.baddbmm(projected[t], h, recurrent, out=states[t])
            h = states[t].tanh_()
        ctx.save_for_backward(states, recurrent)
        return states

    @staticmethod
    def backward(ctx, grad_states: torch.Tensor):
        states, recurrent = ctx.saved_tensors
        grad_projected = torch.empty_like(states)
        transposed = recurrent.transpose(1, 2)
        grad_h = grad_states[-1]
        for t in range(len(states) - 1, -1, -1):
            torch.ops.aten.tanh_backward(grad_h, states[t], grad_input=grad_projected[t])
            if t:
                grad_h = torch.baddbmm(grad_states[t - 1], grad_projected[t], transposed)
        # dU = sum_t h_{t-1}^T dz_t, one product over all steps (h_{-1} = 0 adds nothing)
        steps, s, b, u = states.shape
        previous = states[:-1].permute(1, 3, 0, 2).reshape(s, u, (steps - 1) * b)
        grad_recurrent = torch.bmm(previous, grad_projected[1:].permute(1, 0, 2, 3).reshape(s, (steps - 1) * b, u))
        return grad_projected, grad_recurrent


class Lookup(torch.autograd.Function):
    """``table[ids]`` whose backward sums the rows' gradients with ``index_add_``: CPU torch's
    ``embedding_dense_backward`` sorts the ids first and took 4.7 times as long here (20 seeds x
    64 x 30 ids into 40,000 rows of 5; the same sums)."""

    @staticmethod
    def forward(ctx, table: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(ids)
        ctx.rows = len(table)
        return table.index_select(0, ids.reshape(-1)).reshape(*ids.shape, table.shape[1])

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (ids,) = ctx.saved_tensors
        rows = grad.new_zeros(ctx.rows, grad.shape[-1])
        return rows.index_add_(0, ids.reshape(-1), grad.reshape(-1, grad.shape[-1])), None


class Group(nn.Module):
    """The model of ``spec`` for S seeds, its parameters in Keras's layout with a seed axis.

    An embedding table stays one tensor per seed, looked up and projected seed by seed: a step
    touches nearly every row of it (64 x 30 ids of 2,000), and one seed's table fits in the
    core's L2 cache where twenty stacked tables do not (measured: twice as fast per step).
    """

    def __init__(self, spec: m.Model, weights: list[list[np.ndarray]]):
        super().__init__()
        self.spec, self.seeds = spec, len(weights)
        arrays = list(zip(*weights))  # per array of the Keras layout: one per seed
        self.tables = nn.ParameterList()
        self.stacked = nn.ParameterList()
        self.layout = []  # per array: ("table", index into tables, S of them) or ("stacked", index)
        i = 0
        for layer in spec.layers:
            n = {m.Embedding: 1, m.Recurrent: 3, m.Dense: 2}[type(layer)]
            for a in arrays[i:i + n]:
                if isinstance(layer, m.Embedding):
                    self.layout.append(("table", len(self.tables)))
                    self.tables.extend(nn.Parameter(torch.as_tensor(w).clone().to(solo.DEVICE)) for w in a)
                else:
                    self.layout.append(("stacked", len(self.stacked)))
                    self.stacked.append(nn.Parameter(torch.as_tensor(np.stack(a)).clone().to(solo.DEVICE)))
            i += n

    def summed_biases(self) -> list[nn.Parameter]:
        """The biases of SimpleRNN and LSTM cores: one here, the sum of two in torch's own modules."""
        out, i = [], 0
        for layer in self.spec.layers:
            n = {m.Embedding: 1, m.Recurrent: 3, m.Dense: 2}[type(layer)]
            if isinstance(layer, m.Recurrent) and layer.cell != "gru":
                _, index = self.layout[i + 2]
                out.append(self.stacked[index])
            i += n
        return out

    def seed_weights(self, s: int) -> list[np.ndarray]:
        return [(self.tables[i + s] if kind == "table" else self.stacked[i][s]).detach().cpu().numpy().copy()
                for kind, i in self.layout]

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """``x``: (S, B, T) token ids or (S, B, T, F) floats; ``lengths`` (S,): the steps of each
        seed's batch where they differ (the rest is padding after the end, never read)."""
        weights = iter(self.stacked)
        tables = None
        for layer in self.spec.layers:
            if isinstance(layer, m.Embedding):
                tables = self.tables  # one embedding layer per model (models.py)
                continue
            if isinstance(layer, m.Recurrent):
                kernel, recurrent, bias = next(weights), next(weights), next(weights)
                if tables is not None:
                    # project the table, then look up: E[ids] W = (E W)[ids], with a product over the
                    # 2,000 rows of E instead of the B x T ids (6.4 times fewer at length 200)
                    # (W^T E^T)^T: the layout whose gradient products MKL runs 5 times faster
                    projected_tables = torch.stack([(kernel[s].T.contiguous() @ tables[s].T).T
                                                    for s in range(self.seeds)])  # (S, V, G*U)
                    v = projected_tables.shape[1]
                    ids = x.long() + torch.arange(self.seeds, device=x.device).view(-1, *[1] * (x.dim() - 1)) * v
                    projected = Lookup.apply(projected_tables.reshape(self.seeds * v, -1), ids)
                    tables = None
                else:
                    projected = _bmm(x, kernel)
                x = self._recurrent(layer, projected, recurrent, bias, lengths)
            else:
                kernel, bias = next(weights), next(weights)
                x = solo.ACTIVATIONS[layer.activation](_bmm(x, kernel) + bias.view(self.seeds, *[1] * (x.dim() - 2), -1))
        return x

    @staticmethod
    def _recurrent(layer: m.Recurrent, projected, recurrent, bias, lengths):
        """Keras's cell formulas (gate order as Keras: LSTM i, f, c, o; GRU z, r, h, reset_after)
        on the inputs already multiplied by the kernel."""
        u = layer.units
        if layer.cell == "gru":
            projected = projected + bias[:, 0].unsqueeze(1).unsqueeze(1)
            recurrent_bias = bias[:, 1].unsqueeze(1)
        else:
            projected = projected + bias.unsqueeze(1).unsqueeze(1)
        s, b = projected.shape[:2]
        if layer.cell == "simple":
            states = SimpleRecurrence.apply(projected.permute(2, 0, 1, 3).contiguous(), recurrent)
            if layer.return_sequences:
                return states.permute(1, 2, 0, 3)
            return states[-1] if lengths is None else states[lengths - 1, torch.arange(s, device=states.device)]
        h = projected.new_zeros(s, b, u)
        c = projected.new_zeros(s, b, u)
        outputs = []
        for z in projected.unbind(2):  # one backward node for all steps (indexing makes one per step)
            r = torch.bmm(h, recurrent)
            if layer.cell == "lstm":
                zi, zf, zc, zo = (z + r).chunk(4, -1)
                c = torch.sigmoid(zf) * c + torch.sigmoid(zi) * torch.tanh(zc)
                h = torch.sigmoid(zo) * torch.tanh(c)
            else:
                r = r + recurrent_bias
                xz, xr, xh = z.chunk(3, -1)
                rz, rr, rh = r.chunk(3, -1)
                update = torch.sigmoid(xz + rz)
                h = update * h + (1 - update) * torch.tanh(xh + torch.sigmoid(xr + rr) * rh)
            outputs.append(h)
        if layer.return_sequences:
            return torch.stack(outputs, 2)
        if lengths is None:
            return h
        return torch.stack(outputs, 2)[torch.arange(s, device=h.device), :, lengths - 1]


def _seed_losses(spec: m.Model, loss: str | None, pred: torch.Tensor, y: torch.Tensor,
                 framework: str = "keras") -> torch.Tensor:
    """(S,) each seed's batch loss, as ``torch.loss_fn`` computes it for one seed."""
    name = loss or spec.loss
    if name == "binary_crossentropy":
        return solo.binary_crossentropy(pred, y.reshape(pred.shape).to(pred.dtype), framework).flatten(1).mean(1)
    if name == "nll":
        return -pred.gather(-1, y.long().unsqueeze(-1)).flatten(1).mean(1)
    return (pred - y.reshape(pred.shape)).pow(2).flatten(1).mean(1)


def _seed_correct(spec: m.Model, pred: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """(S,) summed per-sample accuracy per seed (``torch._accuracy``)."""
    if spec.loss == "nll":
        return (pred.argmax(-1) == y).float().flatten(1).sum(1)
    hits = ((pred.reshape(y.shape) > 0.5).float() == y).float()
    return hits.reshape(y.shape[0], y.shape[1], -1).mean(2).sum(1)


class Feed:
    """Each seed's data as the group consumes it: arrays shared by every seed (IMDB) or one per
    seed (the synthetic tasks), or each seed's list of ready batches (one length per batch)."""

    def __init__(self, spec: m.Model, parts: list):
        self.spec = spec
        if isinstance(parts[0], tuple):
            xs = [np.asarray(p[0]) for p in parts]
            ys = [np.asarray(p[1]) for p in parts]
            shared = all(x is xs[0] or np.array_equal(x, xs[0]) for x in xs) and \
                all(np.array_equal(y, ys[0]) for y in ys)
            self.x = solo._tensor(xs[0], spec) if shared else torch.stack([solo._tensor(x, spec) for x in xs])
            self.y = solo._labels(ys[0]) if shared else torch.stack([solo._labels(y) for y in ys])
            self.shared, self.batches = shared, None
            self.n = len(xs[0])
        else:
            self.batches = [[(solo._tensor(xb, spec), solo._labels(yb)) for xb, yb in p] for p in parts]
            self.n = len(self.batches[0])

    def take(self, index: torch.Tensor):
        """Rows ``index`` (S, B) of each seed's arrays -> (S, B, ...) tensors."""
        if self.shared:
            return self.x[index], self.y[index]
        seeds = torch.arange(len(index), device=index.device).unsqueeze(1)
        return self.x[seeds, index], self.y[seeds, index]

    def batch(self, picks: list[int]):
        """Batch ``picks[s]`` of each seed, padded after the end to the longest; and the lengths."""
        xs, ys = zip(*(self.batches[s][i] for s, i in enumerate(picks)))
        lengths = torch.tensor([x.shape[1] for x in xs], device=solo.DEVICE)
        longest = int(lengths.max())
        xs = [nn.functional.pad(x, (0, 0, 0, longest - x.shape[1])) for x in xs]
        return torch.stack(xs), torch.stack(ys), (lengths if bool((lengths != longest).any()) else None)

    def in_order(self, seeds: int, batch_size: int):
        """Every batch in order (validation and test), each seed's own."""
        if self.batches is not None:
            for i in range(self.n):
                yield self.batch([i] * seeds)
            return
        for start in range(0, self.n, batch_size):
            index = torch.arange(start, min(start + batch_size, self.n)).expand(seeds, -1)
            yield (*self.take(index), None)


def _zeros(s: int) -> torch.Tensor:
    """Per-seed float64 sums, on the device the group trains on."""
    return torch.zeros(s, dtype=torch.float64, device=solo.DEVICE)


@torch.no_grad()
def _evaluate(group: Group, feed: Feed, batch_size: int, loss: str | None, framework: str) -> list[dict]:
    group.eval()
    s = group.seeds
    total, correct, n = _zeros(s), _zeros(s), 0
    for xb, yb, lengths in feed.in_order(s, batch_size):
        pred = group(xb, lengths)
        total += _seed_losses(group.spec, loss, pred, yb, framework).double() * xb.shape[1]
        correct += _seed_correct(group.spec, pred, yb).double()
        n += xb.shape[1]
    return [{"loss": float(total[i]) / n, "accuracy": float(correct[i]) / n} for i in range(s)]


def fit_group(spec: m.Model, exp, datas: list, seeds: list[int]) -> list[tuple[dict, solo.Network]]:
    """``torch.fit`` for each of ``seeds`` (``datas[i]`` is what ``prepare(seeds[i])`` gave), trained
    as one group. Returns, per seed, its result and a solo model holding its final weights."""
    if not supports(spec):
        raise ValueError(f"{spec.name}: the grouped trainer builds embedding, recurrent and dense layers only")
    native = exp.framework == "torch"
    models = [solo.build(spec, seed, "native" if native else "keras") for seed in seeds]  # each seed's own draw
    group = Group(spec, [solo.get_weights(model) for model in models])
    summed = group.summed_biases() if native else []
    # torch's SimpleRNN and LSTM train two biases, b_ih and b_hh, that always receive the same
    # gradient and so, from the same (zero) optimizer state, the same Adam or RMSprop step: their
    # sum, the one bias the group holds, moves by twice that step, i.e. at twice the learning rate.
    optimizer = solo.optimizer(exp, [{"params": [p for p in group.parameters() if all(p is not q for q in summed)]},
                                     {"params": summed, "lr_scale": 2.0}])
    generators = [torch.Generator().manual_seed(seed) for seed in seeds]
    s = len(seeds)
    if datas[0].batches is not None:
        train = Feed(spec, [d.batches for d in datas])
        val = Feed(spec, [d.val for d in datas])
    else:
        parts = []
        for d in datas:
            x, y = d.x, d.y
            if exp.validation_split:
                (x, y), val_arrays = solo.validation_split((x, y), exp.validation_split)
            else:
                val_arrays = d.val
            parts.append(((x, y), tuple(val_arrays)))
        train, val = Feed(spec, [p[0] for p in parts]), Feed(spec, [p[1] for p in parts])
    test = Feed(spec, [tuple(d.test) if isinstance(d.test, tuple) else d.test for d in datas])
    history = [{"loss": [], "accuracy": [], "val_loss": [], "val_accuracy": []} for _ in seeds]
    times = []
    for _ in range(exp.epochs):
        t0 = time.perf_counter()
        group.train()
        if train.batches is not None:
            orders = [torch.randperm(train.n, generator=g).tolist() for g in generators]
            steps = ((train.batch([o[i] for o in orders])) for i in range(train.n))
        else:
            orders = torch.stack([torch.randperm(train.n, generator=g) for g in generators])
            steps = ((*train.take(index), None) for index in orders.split(exp.batch_size, dim=1))
        total, correct, n = _zeros(s), _zeros(s), 0
        for xb, yb, lengths in steps:
            optimizer.zero_grad()
            pred = group(xb, lengths)
            losses = _seed_losses(spec, exp.loss, pred, yb, exp.framework)
            losses.sum().backward()  # d(sum)/d(seed s's weights) = seed s's own gradient
            optimizer.step()
            total += losses.detach().double() * xb.shape[1]
            correct += _seed_correct(spec, pred.detach(), yb).double()
            n += xb.shape[1]
        validation = _evaluate(group, val, exp.batch_size, exp.loss, exp.framework)
        times.append(time.perf_counter() - t0)
        progress.epoch(len(times))
        for i in range(s):
            history[i]["loss"].append(float(total[i]) / n)
            history[i]["accuracy"].append(float(correct[i]) / n)
            history[i]["val_loss"].append(validation[i]["loss"])
            history[i]["val_accuracy"].append(validation[i]["accuracy"])
    tested = _evaluate(group, test, exp.batch_size, exp.loss, exp.framework)
    out = []
    for i, model in enumerate(models):
        solo.set_weights(model, group.seed_weights(i))
        # each seed's share of the group's time: what its run cost
        out.append(({"history": history[i], "test": tested[i], "epoch_s": [t / s for t in times]}, model))
    return out
