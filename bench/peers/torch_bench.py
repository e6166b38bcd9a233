"""torch_bench.py: PyTorch peer for plab's benchmark.

Trains an MLP (ReLU, Kaiming-normal init, softmax cross-entropy, plain SGD) on one fixed random
batch, one thread, in two loop styles, and prints examples per second as JSON lines:
  1x: optimizer.zero_grad() (set_to_none=False), SGD(foreach=False)
  2x: optimizer.zero_grad(set_to_none=True), SGD(foreach=True)
Usage: OPENBLAS_NUM_THREADS=1 /usr/bin/python3 torch_bench.py [--seconds S] [--nets 784-100-100-100-10:30,...]
"""
import argparse
import json
import os
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
import torch  # noqa: E402


def build(widths):
    layers = []
    for i in range(1, len(widths)):
        lin = torch.nn.Linear(widths[i - 1], widths[i])
        torch.nn.init.kaiming_normal_(lin.weight, nonlinearity="relu")
        torch.nn.init.zeros_(lin.bias)
        layers.append(lin)
        if i + 1 < len(widths):
            layers.append(torch.nn.ReLU())
    return torch.nn.Sequential(*layers)


def bench(spec, style, seconds):
    widths_text, batch_text = spec.split(":")
    widths = [int(w) for w in widths_text.split("-")]
    batch = int(batch_text)
    torch.manual_seed(0)
    net = build(widths)
    x = torch.rand(batch, widths[0])
    classes = widths[-1]
    if classes > 1:
        y = torch.randint(0, classes, (batch,))
        loss_fn = torch.nn.CrossEntropyLoss()
    else:
        y = torch.rand(batch, 1)
        loss_fn = torch.nn.MSELoss()
    opt = torch.optim.SGD(net.parameters(), lr=0.01, foreach=(style == "2x"))

    def step():
        if style == "2x":
            opt.zero_grad(set_to_none=True)
        else:
            opt.zero_grad(set_to_none=False)
        loss = loss_fn(net(x), y)
        loss.backward()
        opt.step()
        return loss.item()

    for _ in range(5):
        step()
    steps = 0
    t0 = time.perf_counter()
    t1 = t0
    while t1 - t0 < seconds:
        step()
        steps += 1
        t1 = time.perf_counter()
    return {"peer": f"pytorch-{style}", "net": widths_text, "batch": batch,
            "examples_per_s": steps * batch / (t1 - t0)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--nets", default="784-100-100-100-10:30,784-100-100-100-10:1,"
                                      "784-10-10-10-10:30,2-32-32-1:1")
    args = ap.parse_args()
    torch.set_num_threads(1)
    for spec in args.nets.split(","):
        for style in ("1x", "2x"):
            print(json.dumps(bench(spec, style, args.seconds)), flush=True)


if __name__ == "__main__":
    main()
