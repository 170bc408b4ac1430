"""tools/demo's batch from Python: the same 24 chat requests as logcache-demo, memoized through
the logcache package under the same namespace and version. The requests are the bodies the
Swift ChatRequest encodes (transport details such as the API key are not in them), so each
one's key is the key Swift made, and the answers Swift stored are hits here.

    python3 tools/lib/demo_batch.py STORE_DIR

Prints what happened and a line `result computed=… hits=… wrong=… seconds=…`; exits 4 when
an answer is not the model's answer to its request.
"""
import sys
import time

import logcache


def request(i):
    return {
        "model": "demo-model",
        "messages": [
            {"role": "system", "content": "Answer briefly."},
            {"role": "user", "content": f"What is {i} squared?"},
        ],
        "temperature": 0,
        "max_tokens": 32,
        "seed": 1,
    }


def answer(body):
    return f'answer to "{body["messages"][-1]["content"]}" from {body["model"]}'


def main():
    if len(sys.argv) != 2:
        print("usage: demo_batch.py STORE_DIR", file=sys.stderr)
        return 2
    computed = 0
    wrong = 0
    start = time.monotonic()
    with logcache.Cache(sys.argv[1]) as cache:
        for i in range(1, 25):
            body = request(i)

            def slow_model(body=body):
                nonlocal computed
                computed += 1
                time.sleep(0.15)
                return answer(body)

            result = cache.memoize_request("chat", "1", body, slow_model)
            if result != answer(body):
                wrong += 1
    elapsed = time.monotonic() - start
    print(f"python: 24 calls in {elapsed:.2f} s: {computed} computed, {24 - computed} from the cache, {wrong} wrong")
    print(f"result computed={computed} hits={24 - computed} wrong={wrong} seconds={elapsed:.3f}")
    return 4 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
