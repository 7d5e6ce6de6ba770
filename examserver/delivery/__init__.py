"""Real-time theory exam delivery (理论知识考试在线实施): attempts, the answer log, the clock, live proctoring."""
