@D16
Feature: The question timer
  Spec §1.2 question:timer_update, §4.2; decision D16: updates at startedAt + k·1000 ms for
  k = 1 … duration−1 with timeRemaining = duration − k, then a timeout close within 1 s.

  Scenario: The countdown reaches the whole room, then the question closes on timeout
    Given an active conference with host "hana" and audience "alex"
    When "hana" pushes question "q1" live for 4 seconds
    Then "alex" receives question:timer_update counting down from 3 to 1
    And "hana" receives question:timer_update with timeRemaining 1
    And "alex" receives question:closed with reason "timeout" and questionId "q1"
    And "alex" received the timer updates about one second apart
    And "alex" received question:closed within 2 seconds after expiresAt
    And "alex" receives vote:final_result with questionId "q1" and totalVotes 0

  Scenario: Timer updates carry the question's expiresAt
    Given an active conference with host "hana" and audience "alex"
    When "hana" pushes question "q1" live for 3 seconds
    Then "alex" receives question:timer_update with timeRemaining 2 and questionId "q1"
    And every question:timer_update "alex" received has the expiresAt of its question:live

  Scenario: No timer update follows a manual close
    Given an active conference with host "hana" and audience "alex"
    And question "q1" is live for 30 seconds
    When "hana" closes question "q1"
    Then "alex" receives question:closed with reason "manual"
    And "alex" does not receive question:timer_update for 2 seconds

  Scenario: A one-second question closes without any update
    Given an active conference with host "hana" and audience "alex"
    When "hana" pushes question "q1" live for 1 second
    Then "alex" receives question:closed with reason "timeout"
    And "alex" does not receive question:timer_update for 2 seconds

  Scenario: Votes after the timeout are refused
    Given an active conference with host "hana" and audience "alex"
    When "hana" pushes question "q1" live for 2 seconds
    And "alex" receives question:closed with reason "timeout"
    And "alex" votes "A" on question "q1"
    Then "alex" receives vote:rejected because question_closed
