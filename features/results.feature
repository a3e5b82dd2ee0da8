Feature: Results
  Spec §1.2 vote:result and vote:final_result, §6; decisions D20, D21, D22.

  @D20
  Scenario: Real-time results list every option, zeros included
    Given an active conference with host "hana" and audience "alex", "bo"
    And question "q1" is live
    When "alex" votes "B" on question "q1"
    Then "bo" receives vote:result with questionId "q1", totalVotes 1 and optionCounts {"A":0,"B":1,"C":0,"D":0}
    And "hana" receives vote:result with totalVotes 1

  @D20
  Scenario: A burst of votes is coalesced and the latest counts always arrive
    Given an active conference with host "hana" and audience "v1", "v2", "v3", "v4", "v5", "v6"
    And question "q1" is live
    When "v1", "v2", "v3", "v4" vote "A" on question "q1" at once
    And "v5", "v6" vote "C" on question "q1" at once
    Then "hana" receives vote:result with totalVotes 6 and optionCounts {"A":4,"B":0,"C":2,"D":0}
    And "hana" received fewer than 6 vote:result

  @D21
  Scenario: The final result reveals the answer with counts and percentages
    Given an active conference with host "hana" and audience "v1", "v2", "v3"
    And question "q1" is live
    And "v1" has voted "A" on question "q1"
    And "v2" has voted "A" on question "q1"
    And "v3" has voted "B" on question "q1"
    When "hana" closes question "q1"
    Then "v3" receives vote:final_result matching:
      """
      {"conferenceId": "$conference", "questionId": "$q1", "totalVotes": 3,
       "optionCounts": {"A": 2, "B": 1, "C": 0, "D": 0},
       "correctOption": "A", "correctCount": 2,
       "percentageBreakdown": {"A": 66.67, "B": 33.33, "C": 0, "D": 0}}
      """

  @D21
  Scenario: Without votes every percentage is 0
    Given an active conference with host "hana" and audience "alex"
    And question "q2" is live
    When "hana" closes question "q2"
    Then "alex" receives vote:final_result with totalVotes 0, correctOption "B", correctCount 0 and percentageBreakdown {"A":0,"B":0,"C":0,"D":0}

  @D21
  Scenario: The correct count counts the correct option only
    Given an active conference with host "hana" and audience "v1", "v2"
    And question "q3" is live
    And "v1" has voted "C" on question "q3"
    And "v2" has voted "D" on question "q3"
    When "hana" closes question "q3"
    Then "v1" receives vote:final_result with correctOption "C", correctCount 1 and percentageBreakdown.C 50

  @D22
  Scenario: No result to the audience carries another user's identity
    Given an active conference with host "hana" and audience "alex", "bo"
    And question "q1" is live
    When "alex" votes "A" on question "q1"
    And "alex" receives vote:accepted
    And "hana" closes question "q1"
    Then "bo" receives vote:final_result with totalVotes 1
    And no actor received a malformed or leaking message
