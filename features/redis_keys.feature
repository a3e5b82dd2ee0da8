@redis
Feature: Redis keys
  Spec §2 (names, types, TTLs) and §4.3 (cleanup). Runs only when the suite is given the
  target's Redis URL.

  Scenario: A created conference has its host and status keys
    Given an active conference with host "hana"
    Then Redis holds string "conference:$conference:host" with no TTL
    And Redis string "conference:$conference:host" is "$user(hana)"
    And Redis holds string "conference:$conference:status" with no TTL
    And Redis string "conference:$conference:status" is "ACTIVE"

  @D9
  Scenario: Presence keys follow joins and leaves
    Given an active conference with host "hana" and audience "alex"
    Then Redis holds set "conference:$conference:audience" with no TTL
    And Redis set "conference:$conference:audience" contains "$user(alex)"
    And Redis set "conference:$conference:audience" does not contain "$user(hana)"
    And Redis holds set "user:$user(alex):conferences" with no TTL
    And Redis holds string "conference:$conference:audience:count" with a TTL of 1 to 10 seconds
    When "alex" leaves the conference
    And "alex" receives conference:left
    Then Redis set "conference:$conference:audience" does not contain "$user(alex)"
    And Redis holds no key "user:$user(alex):conferences"

  Scenario: A live question has its live, timer, meta and vote keys
    Given an active conference with host "hana" and audience "alex"
    When "hana" pushes question "q1" live for 30 seconds
    And "alex" receives question:live
    Then Redis holds hash "conference:$conference:live_question" with a TTL of 25 to 30 seconds
    And Redis hash field "conference:$conference:live_question" field "questionId" is "$q1"
    And Redis holds hash "question:$q1:timer" with a TTL of 25 to 30 seconds
    And Redis holds hash "question:$q1:meta" with a TTL of 3500 to 3600 seconds
    And Redis hash field "question:$q1:meta" field "correctOption" is "A"
    And Redis holds hash "question:$q1:votes:counts"
    And Redis hash field "question:$q1:votes:counts" field "total" is "0"
    And Redis holds string "question:$q1:votes:correct"
    And Redis holds no key "conference:$conference:lock:push_question"

  Scenario: A vote is recorded in the vote keys
    Given an active conference with host "hana" and audience "alex"
    And question "q1" is live
    When "alex" votes "A" on question "q1"
    And "alex" receives vote:accepted
    Then Redis set "question:$q1:votes:users" contains "$user(alex)"
    And Redis hash field "question:$q1:votes:counts" field "A" is "1"
    And Redis hash field "question:$q1:votes:counts" field "total" is "1"
    And Redis string "question:$q1:votes:correct" is "1"
    And Redis holds no key "question:$q1:lock:vote:$user(alex)"

  @D23
  Scenario: Closing removes the live keys at once and the vote keys once the result is written
    Given an active conference with host "hana" and audience "alex"
    And question "q1" is live
    And "alex" has voted "B" on question "q1"
    When "hana" closes question "q1"
    And "alex" receives vote:final_result
    Then Redis holds no key "conference:$conference:live_question"
    And Redis holds no key "question:$q1:timer"
    And Redis holds no key "question:$q1:votes:counts" once the result is written
    And Redis holds no key "question:$q1:votes:users" once the result is written
    And Redis holds no key "question:$q1:votes:correct" once the result is written

  Scenario: Ending a conference deletes its presence
    Given an active conference with host "hana" and audience "alex"
    When the conference is ended
    And "alex" receives conference:status_changed
    Then Redis string "conference:$conference:status" is "ENDED"
    And Redis holds no key "conference:$conference:audience"
    And Redis holds no key "conference:$conference:audience:count"
