import itertools
import random

from bureau.engine.backoff import retry_delay
from bureau.sdk.decorator import RetryPolicy
from bureau.webhooks.signing import headers, sign, verify

# The test vector published with the Standard Webhooks specification.
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
MESSAGE_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
TIMESTAMP = 1614265330
BODY = b'{"test": 2432232314}'


def test_signature_matches_the_standard_webhooks_vector() -> None:
    assert sign(SECRET, MESSAGE_ID, TIMESTAMP, BODY) == (
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    )


def test_verify_accepts_fresh_and_refuses_stale_or_tampered() -> None:
    signed = headers(SECRET, MESSAGE_ID, TIMESTAMP, BODY)
    signature = signed["webhook-signature"]
    assert verify(SECRET, MESSAGE_ID, str(TIMESTAMP), BODY, signature, now=TIMESTAMP + 10)
    assert not verify(SECRET, MESSAGE_ID, str(TIMESTAMP), BODY, signature, now=TIMESTAMP + 9999)
    assert not verify(SECRET, MESSAGE_ID, str(TIMESTAMP), b"{}", signature, now=TIMESTAMP)


def test_backoff_grows_with_jitter_and_is_capped() -> None:
    policy = RetryPolicy(max_attempts=10, initial_delay=1.0, max_delay=8.0, multiplier=2.0)
    rng = random.Random(7)
    delays = [retry_delay(policy, attempt, rng) for attempt in range(1, 7)]
    assert all(a < b for a, b in itertools.pairwise(delays[:4])), "grows until the cap"
    assert all(0.5 <= d <= 8.0 for d in delays)
    assert 4.0 <= delays[-1] <= 8.0
    spread = {round(retry_delay(policy, 3, rng), 6) for _ in range(20)}
    assert len(spread) > 1, "no jitter"
