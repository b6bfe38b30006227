use super::*;

fn fail(b: &CircuitBreaker, now: Instant) {
    b.try_acquire_at(now)
        .expect("allowed")
        .finish_at(false, now);
}

fn succeed(b: &CircuitBreaker, now: Instant) {
    b.try_acquire_at(now).expect("allowed").finish_at(true, now);
}

#[test]
fn opens_after_threshold_consecutive_failures() {
    let b = CircuitBreaker::new("t", BreakerConfig::default());
    let t0 = Instant::now();
    for _ in 0..4 {
        fail(&b, t0);
    }
    assert_eq!(b.state_at(t0), BreakerState::Closed);
    fail(&b, t0);
    assert_eq!(b.state_at(t0), BreakerState::Open);
    assert_eq!(b.snapshot().opened, 1);
}

#[test]
fn a_success_resets_the_consecutive_count() {
    let b = CircuitBreaker::new("t", BreakerConfig::default().failure_threshold(3));
    let t0 = Instant::now();
    fail(&b, t0);
    fail(&b, t0);
    succeed(&b, t0);
    fail(&b, t0);
    fail(&b, t0);
    assert_eq!(b.state_at(t0), BreakerState::Closed);
}

#[test]
fn open_refuses_with_time_left_then_half_opens_after_timeout() {
    // Open after 3 failures, half-open after 30 s, close after 1 success.
    let config = BreakerConfig::default()
        .failure_threshold(3)
        .open_timeout(Duration::from_secs(30));
    let b = CircuitBreaker::new("db", config);
    let t0 = Instant::now();
    for _ in 0..3 {
        fail(&b, t0);
    }
    let left = b
        .try_acquire_at(t0 + Duration::from_millis(4700))
        .unwrap_err();
    assert_eq!(left, Duration::from_millis(25_300));
    let err = b.open_error::<String>(left).to_string();
    assert_eq!(err, "circuit breaker db is OPEN - 25.3s until retry");
    let t1 = t0 + Duration::from_secs(30);
    assert_eq!(b.state_at(t1), BreakerState::HalfOpen);
    succeed(&b, t1);
    assert_eq!(b.state_at(t1), BreakerState::Closed);
}

#[test]
fn half_open_failure_reopens_and_limits_probes() {
    let config = BreakerConfig::default()
        .failure_threshold(1)
        .open_timeout(Duration::from_secs(1))
        .success_threshold(2);
    let b = CircuitBreaker::new("t", config);
    let t0 = Instant::now();
    fail(&b, t0);
    let t1 = t0 + Duration::from_secs(1);
    let probe = b.try_acquire_at(t1).expect("one probe");
    assert!(b.try_acquire_at(t1).is_err(), "only one probe at a time");
    drop(probe);
    succeed(&b, t1);
    assert_eq!(b.state_at(t1), BreakerState::HalfOpen, "needs 2 successes");
    fail(&b, t1);
    assert_eq!(b.state_at(t1), BreakerState::Open);
    assert_eq!(b.snapshot().opened, 2);
}

#[test]
fn failure_rate_in_the_window_opens() {
    let config = BreakerConfig::default()
        .failure_threshold(100)
        .failure_rate(0.5, 4)
        .window(Duration::from_secs(60));
    let b = CircuitBreaker::new("t", config);
    let t0 = Instant::now();
    succeed(&b, t0);
    fail(&b, t0);
    succeed(&b, t0);
    assert_eq!(b.state_at(t0), BreakerState::Closed);
    fail(&b, t0);
    assert_eq!(b.state_at(t0), BreakerState::Open, "2 of 4 failed");
    // Old calls leave the window.
    let b = CircuitBreaker::new("t", b.config().clone());
    fail(&b, t0);
    fail(&b, t0);
    let later = t0 + Duration::from_secs(61);
    succeed(&b, later);
    succeed(&b, later);
    succeed(&b, later);
    fail(&b, later);
    assert_eq!(b.state_at(later), BreakerState::Closed, "1 of 4 in window");
}

#[test]
fn trip_reset_and_wrapped_calls() {
    let b = CircuitBreaker::new("t", BreakerConfig::default());
    b.trip();
    assert_eq!(b.state(), BreakerState::Open);
    assert!(b.call(|| Ok::<_, ()>(())).unwrap_err().is_open());
    b.reset();
    assert_eq!(b.state(), BreakerState::Closed);
    assert!(matches!(
        b.call(|| Err::<(), _>("boom")),
        Err(BreakerError::Inner("boom"))
    ));
    let s = b.snapshot();
    assert_eq!((s.calls, s.failures, s.rejected), (1, 1, 1));
    let json = serde_json::to_value(&s).unwrap();
    assert_eq!(json["state"], "CLOSED");
}

#[test]
fn a_zero_probe_interval_still_keeps_the_breaker_open_for_a_while() {
    let config = BreakerConfig::default()
        .failure_threshold(1)
        .probe_interval(Duration::ZERO);
    let b = CircuitBreaker::new("t", config);
    let now = Instant::now();
    fail(&b, now);
    assert_eq!(
        b.try_acquire_at(now).unwrap_err(),
        Duration::from_millis(10)
    );
}

#[test]
fn with_a_probe_interval_failed_probes_double_the_open_time_up_to_the_timeout() {
    let config = BreakerConfig::default()
        .failure_threshold(1)
        .open_timeout(Duration::from_secs(1))
        .probe_interval(Duration::from_millis(250));
    let b = CircuitBreaker::new("t", config);
    let mut now = Instant::now();
    fail(&b, now);
    for open_ms in [250, 500, 1000, 1000] {
        let left = b.try_acquire_at(now).unwrap_err();
        assert_eq!(left, Duration::from_millis(open_ms));
        now += left;
        assert_eq!(b.state_at(now), BreakerState::HalfOpen);
        fail(&b, now);
    }
    now += Duration::from_secs(1);
    succeed(&b, now);
    assert_eq!(b.state_at(now), BreakerState::Closed);
    fail(&b, now);
    assert_eq!(
        b.try_acquire_at(now).unwrap_err(),
        Duration::from_millis(250),
        "closing starts the schedule again"
    );
}

#[test]
fn allow_probe_half_opens_an_open_breaker_at_once() {
    let b = CircuitBreaker::new("t", BreakerConfig::default());
    b.trip();
    assert!(b.open_left().is_some());
    b.allow_probe();
    assert_eq!(b.open_left(), None);
    b.try_acquire().expect("a probe").success();
    assert_eq!(b.state(), BreakerState::Closed);
}
