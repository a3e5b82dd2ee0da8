@D17
Feature: Closing a question
  Spec §1.1 question:close, §1.2 question:closed and vote:final_result, §4.3; decisions D17, D21.

  Scenario: A manual close reaches the room: question:closed, then the final result
    Given an active conference with host "hana" and audience "alex", "bo"
    And question "q1" is live
    When "hana" closes question "q1"
    Then "alex" receives question:closed with questionId "q1" and reason "manual"
    And "bo" receives question:closed with questionId "q1"
    And "alex" receives question:closed and then vote:final_result
    And "hana" receives vote:final_result with questionId "q1"

  Scenario: Closing a question that is not live answers QUESTION_NOT_LIVE
    Given an active conference with host "hana" and audience "alex"
    When "hana" closes question "q1"
    Then "hana" receives error QUESTION_NOT_LIVE for question:close

  Scenario: Closing another question than the live one answers QUESTION_NOT_LIVE
    Given an active conference with host "hana" and audience "alex"
    And question "q1" is live
    When "hana" closes question "q2"
    Then "hana" receives error QUESTION_NOT_LIVE for question:close
    And "alex" does not receive question:closed

  Scenario: Closing twice answers QUESTION_NOT_LIVE the second time
    Given an active conference with host "hana" and audience "alex"
    And question "q1" is live
    When "hana" closes question "q1"
    And "alex" receives question:closed
    And "hana" closes question "q1"
    Then "hana" receives error QUESTION_NOT_LIVE for question:close
    And "alex" does not receive question:closed

  @D7
  Scenario: Closing in an unknown conference answers CONFERENCE_NOT_FOUND
    Given "hana" is connected
    When "hana" sends question:close with {"conferenceId": "nowhere-$q1", "questionId": "$q1"}
    Then "hana" receives error CONFERENCE_NOT_FOUND for question:close

  @D8
  Scenario: Ending the conference closes the live question with its final result
    Given an active conference with host "hana" and audience "alex"
    And question "q1" is live
    And "alex" has voted "A" on question "q1"
    When the conference is ended
    Then "alex" receives question:closed with reason "manual"
    And "alex" receives vote:final_result with totalVotes 1
    And "alex" receives conference:status_changed with status "ENDED"
    And "alex" does not receive question:timer_update for 2 seconds
